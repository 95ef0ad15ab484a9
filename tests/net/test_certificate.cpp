#include "test_certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace tandem::net::testing {
namespace {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertificateDeleter {
  void operator()(X509* certificate) const { X509_free(certificate); }
};
struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

std::filesystem::path fresh_directory() {
  static std::atomic<int> counter{0};
  auto directory =
      std::filesystem::temp_directory_path() / ("tandem-net-test-" + std::to_string(::getpid()) +
                                                "-" + std::to_string(counter.fetch_add(1)));
  std::filesystem::create_directories(directory);
  return directory;
}

std::unique_ptr<X509, CertificateDeleter> self_signed(EVP_PKEY* key) {
  std::unique_ptr<X509, CertificateDeleter> certificate(X509_new());
  require(certificate != nullptr, "X509_new");
  X509* x = certificate.get();
  require(X509_set_version(x, 2) == 1, "version");
  require(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1, "serial");
  require(X509_gmtime_adj(X509_getm_notBefore(x), -60) != nullptr, "notBefore");
  require(X509_gmtime_adj(X509_getm_notAfter(x), 24L * 3600) != nullptr, "notAfter");
  require(X509_set_pubkey(x, key) == 1, "public key");
  X509_NAME* name = X509_get_subject_name(x);
  require(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                                     0) == 1,
          "subject");
  require(X509_set_issuer_name(x, name) == 1, "issuer");
  require(X509_sign(x, key, EVP_sha256()) > 0, "sign");
  return certificate;
}

template <class Write>
void write_pem(const std::filesystem::path& path, Write&& write) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "w"));
  require(file != nullptr, "open output file");
  require(write(file.get()) == 1, "write PEM");
}

}  // namespace

TestCertificate::TestCertificate() : m_directory(fresh_directory()) {
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(EVP_EC_gen("P-256"));
  require(key != nullptr, "EVP_EC_gen");
  const auto certificate = self_signed(key.get());
  write_pem(m_directory / "cert.pem",
            [&](std::FILE* file) { return PEM_write_X509(file, certificate.get()); });
  write_pem(m_directory / "key.pem", [&](std::FILE* file) {
    return PEM_write_PrivateKey(file, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
}

TestCertificate::~TestCertificate() {
  std::error_code ignored;
  std::filesystem::remove_all(m_directory, ignored);
}

}  // namespace tandem::net::testing
