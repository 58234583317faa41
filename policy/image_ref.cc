#include "policy/image_ref.h"

namespace backstop::policy {

std::string ImageRef::Name() const { return domain.empty() ? path : domain + "/" + path; }

std::string ImageRef::Normalized() const {
  std::string out = Name();
  if (!tag.empty()) {
    out += ":" + tag;
  } else if (digest.empty()) {
    out += ":latest";
  }
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<ImageRef> ParseImageRef(std::string_view reference) {
  // Placeholder until the grammar lands: accepts anything non-empty, no normalisation.
  if (reference.empty()) return Error{"invalid reference format"};
  ImageRef ref;
  ref.path = std::string(reference);
  return ref;
}

std::optional<std::string> NormalizeImage(std::string_view reference) {
  auto ref = ParseImageRef(reference);
  if (!ref) return std::nullopt;
  return ref->Normalized();
}

}  // namespace backstop::policy
