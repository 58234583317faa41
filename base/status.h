#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace backstop {

// What kind of failure a Status reports. Callers decide on the code (exit status, HTTP
// status, whether to retry), never on the message text.
enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the input is malformed or breaks a rule: fix the input
  kNotFound,            // a file, object or API that does not exist
  kAlreadyExists,       // a create found the object there already
  kConflict,            // a write lost a race (resourceVersion precondition): re-read, retry
  kPermissionDenied,    // the caller is not allowed (HTTP 403)
  kUnauthenticated,     // the caller's credentials were refused (HTTP 401)
  kFailedPrecondition,  // the environment is not what the operation needs (not in a cluster)
  kResourceExhausted,   // too large, too deep, too many
  kDeadlineExceeded,    // took longer than allowed
  kUnavailable,         // a transient failure (network, 5xx, throttling): retry later
  kCancelled,           // stopped on request (shutdown)
  kInternal,            // a bug: an invariant did not hold
};

// "InvalidArgument", "NotFound", ...: for logs and metrics labels.
std::string_view StatusCodeName(StatusCode code);

// The outcome of an operation: OK, or a code and a message for people. A message names
// what failed and where (file, field path, URL) and, where it helps, what to do.
class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // The same code with "<context>: " put before the message, e.g. the file name.
  Status WithContext(std::string_view context) const;
  // "OK", or "<CodeName>: <message>".
  std::string ToString() const;

  bool operator==(const Status& other) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status ConflictError(std::string message);
Status PermissionDeniedError(std::string message);
Status UnauthenticatedError(std::string message);
Status FailedPreconditionError(std::string message);
Status ResourceExhaustedError(std::string message);
Status DeadlineExceededError(std::string message);
Status UnavailableError(std::string message);
Status CancelledError(std::string message);
Status InternalError(std::string message);

// The process exit status for a command that failed with `status`: 0 for OK; 1 when the
// environment is not as needed (kFailedPrecondition, e.g. `watch` outside a cluster);
// 2 for everything else (usage, configuration and input errors).
int ExitCodeFor(const Status& status);

// The HTTP status code for `status` (200 for OK): 400 invalid argument, 401, 403, 404,
// 409 conflict or already exists, 413 resource exhausted, 503 unavailable, 504 deadline,
// 500 otherwise.
int HttpStatusFor(const Status& status);

// Holds a value or a non-OK Status (a small stand-in for absl::StatusOr / std::expected).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  // `status` must not be OK; an OK status is turned into kInternal.
  StatusOr(Status status)  // NOLINT: implicit by design
      : v_(status.ok() ? Status(StatusCode::kInternal, "StatusOr built from an OK status")
                       : std::move(status)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // OK when a value is held.
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace backstop
