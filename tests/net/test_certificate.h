// A throw-away self-signed certificate for TLS tests, generated with OpenSSL's API (no
// dependency on the openssl command line tool).
#pragma once

#include <filesystem>
#include <string>

namespace tandem::net::testing {

class TestCertificate {
 public:
  // A P-256 key and a certificate for CN=localhost, valid for a day, written as PEM files
  // into a fresh temporary directory that the destructor removes.
  TestCertificate();
  ~TestCertificate();
  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  std::string certificate_file() const { return (m_directory / "cert.pem").string(); }
  std::string private_key_file() const { return (m_directory / "key.pem").string(); }

 private:
  std::filesystem::path m_directory;
};

}  // namespace tandem::net::testing
