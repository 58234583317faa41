#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "policy/cluster_facts.h"

namespace backstop::watcher {

using policy::TimePoint;

// The stable reasons the classifier reports. Most are kubelet's own reason strings so
// that tools matching kubelet wording recognise them.
namespace reason {
inline constexpr std::string_view kErrImageNeverPull = "ErrImageNeverPull";
inline constexpr std::string_view kInvalidImageName = "InvalidImageName";
inline constexpr std::string_view kSignatureValidationFailed = "SignatureValidationFailed";
inline constexpr std::string_view kErrImagePull = "ErrImagePull";
inline constexpr std::string_view kImagePullBackOff = "ImagePullBackOff";
inline constexpr std::string_view kRegistryUnavailable = "RegistryUnavailable";
inline constexpr std::string_view kImageInspectError = "ImageInspectError";
inline constexpr std::string_view kCreateContainerConfigError = "CreateContainerConfigError";
inline constexpr std::string_view kCreateContainerError = "CreateContainerError";
inline constexpr std::string_view kCrashLoopBackOff = "CrashLoopBackOff";
inline constexpr std::string_view kOOMKilled = "OOMKilled";
inline constexpr std::string_view kNonZeroExit = "NonZeroExit";
inline constexpr std::string_view kEvicted = "Evicted";
inline constexpr std::string_view kUnschedulable = "Unschedulable";
inline constexpr std::string_view kDeadlineExceeded = "DeadlineExceeded";
inline constexpr std::string_view kBackoffLimitExceeded = "BackoffLimitExceeded";
}  // namespace reason

// Every reason above, in a fixed order (for metrics pre-registration and documentation).
const std::vector<std::string_view>& AllReasons();

enum class ContainerKind { kNone, kInit, kRegular, kEphemeral };
// "init", "regular", "ephemeral"; "" for pod-level findings.
std::string_view ContainerKindName(ContainerKind kind);

// One reason why a pod (or Job) is failing or cannot start.
struct Finding {
  std::string reason;     // one of watcher::reason
  bool terminal = false;  // the object will not recover by itself (retrying cannot help)
  std::string container;  // empty for pod-level findings (Evicted, Unschedulable, ...)
  ContainerKind kind = ContainerKind::kNone;
  std::string image;    // the container's image as written in the spec (status image if absent)
  std::string node;     // spec.nodeName, empty when not scheduled
  std::string message;  // kubelet's (or the scheduler's) message as seen
  // ErrImagePull / ImagePullBackOff whose message says the registry has no such image.
  bool image_missing_from_registry = false;
  // The reason embedded in a 1.32+ back-off message ("Back-off pulling image "x": ErrImagePull:
  // ...").
  std::string previous_reason;
  // When the state began (terminated.finishedAt, the condition's lastTransitionTime ...);
  // unset (epoch) when the object carries no timestamp for it.
  TimePoint since{};
};

struct ClassifyOptions {
  // Unschedulable is reported only once PodScheduled=False/Unschedulable is this old.
  std::chrono::seconds unschedulable_grace{120};
};

// The classification of one pod plus what the knowledge builder needs from it.
struct PodClassification {
  std::string namespace_name;  // "namespace/name" (just "name" without a namespace)
  std::string uid;
  std::string node;   // spec.nodeName
  std::string phase;  // status.phase
  std::vector<Finding> findings;
  // Images (as written in the spec) of containers currently running: evidence that the
  // image is present on `node`.
  std::vector<std::string> running_images;
  // Set when PodScheduled=False/Unschedulable is present but still within the grace: the
  // finding to report once `now` reaches its `since` + grace.
  std::optional<Finding> unschedulable_pending;
};

// Classifies one Pod object. Pure: reads no clock (`now` is only used for the
// Unschedulable grace). Tolerates missing or mistyped fields (they yield no finding).
PodClassification ClassifyPod(const rapidjson::Value& pod, TimePoint now,
                              const ClassifyOptions& options = {});

// Classifies a batch/v1 Job: condition Failed=True with reason DeadlineExceeded or
// BackoffLimitExceeded (both terminal).
std::vector<Finding> ClassifyJob(const rapidjson::Value& job);

// True when a kubelet/CRI pull error message says the registry has no such image
// ("not found", "manifest unknown", "name unknown", gRPC NotFound), and not an
// authorisation problem (which private images also produce).
bool IsRegistryNotFoundMessage(std::string_view message);

// Splits a 1.32+ back-off message `Back-off pulling image "x": <Reason>: <detail>` into the
// embedded reason and detail; nullopt for the older form without them.
struct BackOffCause {
  std::string reason;
  std::string detail;
};
std::optional<BackOffCause> ParseBackOffMessage(std::string_view message);

}  // namespace backstop::watcher
