#pragma once

#include <string>
#include <string_view>

namespace backstop::testing {

// Standard base64 (RFC 4648 §4, padded) by OpenSSL: independent of the product's own
// encoder, so tests can check what it produced and write what the apiserver would send.
std::string EncodeBase64(std::string_view in);

// Decodes standard base64, skipping line breaks and spaces as Go's decoder (and so the
// apiserver) does; "<invalid base64>" for anything else.
std::string DecodeBase64(std::string_view in);

}  // namespace backstop::testing
