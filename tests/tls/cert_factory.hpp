// Certificates for the TLS tests, made at test time with OpenSSL (nothing is committed):
// a CA and leaves it signed, into a temporary folder that lives as long as the factory.
#pragma once

#include <string>

namespace xsock::test {

// One certificate and its key, as PEM files: `cert` holds the leaf then its CA (the
// chain a server presents), `key` the unencrypted private key.
struct cert_files {
  std::string cert;
  std::string key;
};

// A fresh folder under the system's temporary folder holding:
//  - ca: the trusted CA (basicConstraints CA:TRUE), ca.pem;
//  - server: a leaf for DNS:localhost, IP:127.0.0.1, IP:::1;
//  - other_name: a leaf for DNS:other.test only (no IP address);
//  - expired: a leaf like `server` whose validity ended yesterday;
//  - untrusted_ca / untrusted: a second CA, trusted by nobody, and its leaf for the
//    same names as `server`.
// EC P-256 keys: the whole set takes milliseconds. The folder is removed by the
// destructor. Throws std::runtime_error naming what OpenSSL refused.
class cert_factory {
 public:
  cert_factory();
  ~cert_factory();
  cert_factory(const cert_factory&) = delete;
  cert_factory& operator=(const cert_factory&) = delete;

  const std::string& dir() const { return dir_; }
  // A path in the folder for a file of the test's own.
  std::string path(const std::string& name) const;

  std::string ca;            // ca.pem
  std::string untrusted_ca;  // untrusted-ca.pem
  cert_files server;         // server.pem, server.key
  cert_files other_name;     // other.pem, other.key
  cert_files expired;        // expired.pem, expired.key
  cert_files untrusted;      // untrusted.pem, untrusted.key

 private:
  std::string dir_;
};

}  // namespace xsock::test
