#pragma once

#include <string>
#include <string_view>

namespace backstop::webhook {

// Standard base64 with padding (RFC 4648 §4), as AdmissionResponse.patch expects.
std::string Base64Encode(std::string_view in);

}  // namespace backstop::webhook
