#include "policy/image_policy.h"

#include "policy/engine.h"

namespace backstop::policy {

void ParseImageOptions(ConfigReader reader, ImageOptions* /*out*/) { reader.RejectUnknown(); }

Decision ValidatePodImages(const AdmissionRequest& /*request*/, const PolicyContext& /*context*/) {
  return Decision::Allowed();
}

}  // namespace backstop::policy
