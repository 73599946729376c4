#include "cert_factory.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace xsock::test {
namespace {

namespace fs = std::filesystem;

// The tests trust the CAs they make, and nothing depends on the machine's store. A
// runner's SSL_CERT_FILE (CI machines often point it at a bundle of 150 roots) would
// be parsed into every client context: 40 ms each on Linux, 0.4 s under Wine.
const bool runner_trust_ignored = [] {
#ifdef _WIN32
  _putenv_s("SSL_CERT_FILE", "");
  _putenv_s("SSL_CERT_DIR", "");
#else
  unsetenv("SSL_CERT_FILE");
  unsetenv("SSL_CERT_DIR");
#endif
  return true;
}();

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const { X509_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct bn_free {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ext_free {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "no reason given";
  const unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error("cert_factory: " + what + ": " + reason);
}

void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}

pkey_ptr make_key() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EVP_PKEY_Q_keygen P-256");
  return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ext_free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext) fail(std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  check(X509_add_ext(cert, ext.get(), -1), "X509_add_ext");
}

// Validity from `from_days` to `to_days` relative to now (negative: the past).
struct validity {
  long from_days;
  long to_days;
};
constexpr validity current{-1, 30};
constexpr validity in_the_past{-30, -1};

// A certificate for `key` named `common_name`, signed by `issuer` with `issuer_key`
// (itself and `key` when `issuer` is null: a self-signed CA). `san` empty: a CA.
x509_ptr make_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer,
                   EVP_PKEY* issuer_key, const std::string& san, validity valid) {
  x509_ptr cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "X509_set_version");

  // Random serials: two runs never present the same issuer and serial with different
  // contents (a session cache or a trust store would be entitled to be confused).
  std::unique_ptr<BIGNUM, bn_free> serial(BN_new());
  if (!serial) fail("BN_new");
  check(BN_rand(serial.get(), 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY), "BN_rand");
  if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    fail("BN_to_ASN1_INTEGER");
  }

  constexpr long day = 24 * 60 * 60;
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), valid.from_days * day) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), valid.to_days * day)) {
    fail("X509_gmtime_adj");
  }
  check(X509_set_pubkey(cert.get(), key), "X509_set_pubkey");

  X509_NAME* name = X509_get_subject_name(cert.get());
  check(
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("xsock tests"), -1, -1, 0),
      "X509_NAME_add_entry_by_txt O");
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                   -1, 0),
        "X509_NAME_add_entry_by_txt CN");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "X509_set_issuer_name");

  if (san.empty()) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(cert.get(), signer, NID_subject_alt_name, san.c_str());
    add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
    add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }

  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) {
    fail("X509_sign " + common_name);
  }
  return cert;
}

std::unique_ptr<BIO, bio_free> open_for_writing(const std::string& path) {
  std::unique_ptr<BIO, bio_free> bio(BIO_new_file(path.c_str(), "w"));
  if (!bio) fail("cannot write " + path);
  return bio;
}

void write_certs(const std::string& path, const std::vector<X509*>& chain) {
  auto bio = open_for_writing(path);
  for (X509* c : chain)
    check(PEM_write_bio_X509(bio.get(), c), "PEM_write_bio_X509");
}

void write_key(const std::string& path, EVP_PKEY* key) {
  auto bio = open_for_writing(path);
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
}

fs::path make_temp_dir() {
  const fs::path base = fs::temp_directory_path();
  // Bounded: a name taken by another run is only retried a few times.
  for (int attempt = 0; attempt < 16; ++attempt) {
    unsigned char random[8];
    check(RAND_bytes(random, sizeof random), "RAND_bytes");
    std::string name = "xsock-tls-test-";
    for (unsigned char b : random) {
      char hex[3];
      std::snprintf(hex, sizeof hex, "%02x", b);
      name += hex;
    }
    std::error_code ec;
    if (fs::create_directory(base / name, ec)) return base / name;
  }
  throw std::runtime_error("cert_factory: cannot make a folder in " + base.string());
}

constexpr const char* host_names = "DNS:localhost,IP:127.0.0.1,IP:::1";

}  // namespace

cert_factory::cert_factory() : dir_(make_temp_dir().string()) {
  try {
    const auto ca_key = make_key();
    const auto ca_cert = make_cert(ca_key.get(), "xsock test CA", nullptr, nullptr, "", current);
    ca = path("ca.pem");
    write_certs(ca, {ca_cert.get()});

    const auto leaf = [&](const std::string& name, const char* san, validity valid, X509* issuer,
                          EVP_PKEY* issuer_key) {
      const auto key = make_key();
      const auto cert = make_cert(key.get(), name, issuer, issuer_key, san, valid);
      cert_files files{path(name + ".pem"), path(name + ".key")};
      write_certs(files.cert, {cert.get(), issuer});
      write_key(files.key, key.get());
      return files;
    };
    server = leaf("server", host_names, current, ca_cert.get(), ca_key.get());
    other_name = leaf("other", "DNS:other.test", current, ca_cert.get(), ca_key.get());
    expired = leaf("expired", host_names, in_the_past, ca_cert.get(), ca_key.get());

    const auto other_ca_key = make_key();
    const auto other_ca =
        make_cert(other_ca_key.get(), "xsock untrusted CA", nullptr, nullptr, "", current);
    untrusted_ca = path("untrusted-ca.pem");
    write_certs(untrusted_ca, {other_ca.get()});
    untrusted = leaf("untrusted", host_names, current, other_ca.get(), other_ca_key.get());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

cert_factory::~cert_factory() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string cert_factory::path(const std::string& name) const {
  return (fs::path(dir_) / name).string();
}

}  // namespace xsock::test
