#include "webhook/connection_tracker.h"

#include <sys/socket.h>

namespace backstop::webhook {
namespace {

int CtxIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int SslIndex(CRYPTO_EX_free* free_func) {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_func);
  return index;
}

}  // namespace

void ConnectionTracker::Attach(SSL_CTX* ctx) {
  SslIndex(&ConnectionTracker::FreeCallback);
  SSL_CTX_set_ex_data(ctx, CtxIndex(), this);
  SSL_CTX_set_info_callback(ctx, &ConnectionTracker::InfoCallback);
}

void ConnectionTracker::InfoCallback(const SSL* ssl, int where, int /*ret*/) {
  if ((where & SSL_CB_HANDSHAKE_START) == 0) return;
  auto* self =
      static_cast<ConnectionTracker*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), CtxIndex()));
  if (self == nullptr) return;
  int index = SslIndex(&ConnectionTracker::FreeCallback);
  if (SSL_get_ex_data(ssl, index) != nullptr) return;  // already registered
  self->Add(ssl, SSL_get_fd(ssl));
  SSL_set_ex_data(const_cast<SSL*>(ssl), index, self);
}

void ConnectionTracker::FreeCallback(void* parent, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                                     long /*argl*/, void* /*argp*/) {
  if (ptr != nullptr) static_cast<ConnectionTracker*>(ptr)->Remove(static_cast<const SSL*>(parent));
}

void ConnectionTracker::Add(const SSL* ssl, int fd) {
  if (fd < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  fds_[ssl] = fd;
}

void ConnectionTracker::Remove(const SSL* ssl) {
  std::lock_guard<std::mutex> lock(mu_);
  fds_.erase(ssl);
}

size_t ConnectionTracker::CloseAllReads() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [ssl, fd] : fds_) ::shutdown(fd, SHUT_RD);
  return fds_.size();
}

size_t ConnectionTracker::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return fds_.size();
}

}  // namespace backstop::webhook
