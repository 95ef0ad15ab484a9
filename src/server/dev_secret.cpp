#include "server/dev_secret.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <filesystem>
#include <fstream>

#include "common/base64.h"

namespace tandem::server {

bool use_development_secret(config::Config& config) {
  const auto& jwt = config.jwt;
  if (!jwt.hs256_secret.empty() || !jwt.public_key_file.empty() || !jwt.jwks_file.empty())
    return false;
  std::filesystem::path dir(config.data_dir);
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  auto path = dir / "jwt-secret";
  if (std::ifstream in(path); in) {
    std::getline(in, config.jwt.hs256_secret);
    if (config.jwt.hs256_secret.size() >= 32) return true;
  }
  unsigned char bytes[48];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    throw Error(ErrorCode::internal, "no randomness for a secret");
  auto secret = base64url_encode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ::write(fd, secret.data(), secret.size()) != static_cast<ssize_t>(secret.size())) {
    if (fd >= 0) ::close(fd);
    throw Error(ErrorCode::config_invalid,
                fmt::format("cannot write the development secret to '{}'", path.string()));
  }
  ::close(fd);
  config.jwt.hs256_secret = secret;
  return true;
}

}  // namespace tandem::server
