#include "net/certificate.h"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <ctime>

#include "net/sys.h"
#include "net/tls_error.h"

namespace sockecho::net {
namespace {

constexpr long k_hour = 3600;
constexpr long k_validity = 30L * 24 * k_hour;

bool is_ip_literal(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::string name_line(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, len > 0 ? static_cast<std::size_t>(len) : 0);
  BIO_free(bio);
  return out;
}

std::int64_t epoch_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char text[INET6_ADDRSTRLEN] = {};
  const int len = ASN1_STRING_length(ip);
  const unsigned char* data = ASN1_STRING_get0_data(ip);
  if (len == 4) inet_ntop(AF_INET, data, text, sizeof text);
  else if (len == 16) inet_ntop(AF_INET6, data, text, sizeof text);
  else return "?";
  return text;
}

std::vector<std::string> san_of(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      const ASN1_STRING* s = n->d.dNSName;
      out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                         static_cast<std::size_t>(ASN1_STRING_length(s))));
    } else if (n->type == GEN_IPADD) {
      out.push_back("IP:" + ip_text(n->d.iPAddress));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

void check(int ok, const char* what) {
  if (ok != 1) throw TlsError(std::string(what) + ": " + openssl_reason());
}

template <typename T>
T* checked_ptr(T* p, const char* what) {
  if (!p) throw TlsError(std::string(what) + ": " + openssl_reason());
  return p;
}

}  // namespace

void X509Free::operator()(X509* x) const noexcept { X509_free(x); }
void PkeyFree::operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }

Fingerprint fingerprint_of(X509* cert) {
  Fingerprint fp{};
  unsigned int len = 0;
  X509_digest(cert, EVP_sha256(), fp.data(), &len);
  return fp;
}

CertificateInfo certificate_info(X509* cert) {
  CertificateInfo info;
  info.subject = name_line(X509_get_subject_name(cert));
  info.issuer = name_line(X509_get_issuer_name(cert));
  info.san = san_of(cert);
  info.not_before = epoch_of(X509_get0_notBefore(cert));
  info.not_after = epoch_of(X509_get0_notAfter(cert));
  info.sha256 = fingerprint_of(cert);
  return info;
}

SelfSigned make_self_signed(const std::vector<std::string>& names) {
  SelfSigned out;
  out.key.reset(checked_ptr(EVP_EC_gen("P-256"), "generating a P-256 key"));
  out.cert.reset(checked_ptr(X509_new(), "making a certificate"));
  X509* x = out.cert.get();
  check(X509_set_version(x, 2), "certificate version");

  // A random 127-bit serial: two runs must not issue the same serial under the same name.
  std::array<unsigned char, 16> serial{};
  check(RAND_bytes(serial.data(), serial.size()), "certificate serial");
  serial[0] &= 0x7f;
  BIGNUM* bn = checked_ptr(BN_bin2bn(serial.data(), serial.size(), nullptr), "certificate serial");
  ASN1_INTEGER* sn = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  checked_ptr(sn, "certificate serial");

  X509_gmtime_adj(X509_getm_notBefore(x), -k_hour);
  X509_gmtime_adj(X509_getm_notAfter(x), k_validity);
  check(X509_set_pubkey(x, out.key.get()), "certificate key");

  X509_NAME* subject = X509_get_subject_name(x);
  const std::string cn = names.empty() ? "localhost" : names.front();
  check(X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>("sockecho"), -1, -1, 0),
        "certificate subject");
  check(X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
        "certificate subject");
  check(X509_set_issuer_name(x, subject), "certificate issuer");

  std::string san;
  for (const std::string& n : names) {
    if (!san.empty()) san += ",";
    san += (is_ip_literal(n) ? "IP:" : "DNS:") + n;
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext =
        checked_ptr(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()), "certificate extension");
    const int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    check(ok, "certificate extension");
  };
  add(NID_basic_constraints, "critical,CA:FALSE");
  add(NID_key_usage, "critical,digitalSignature");
  add(NID_ext_key_usage, "serverAuth");
  add(NID_subject_key_identifier, "hash");
  if (!san.empty()) add(NID_subject_alt_name, san);

  if (X509_sign(x, out.key.get(), EVP_sha256()) <= 0)
    throw TlsError("signing the certificate: " + openssl_reason());
  return out;
}

std::vector<std::string> generated_names(const std::string& bind_address) {
  std::vector<std::string> names{"localhost", "127.0.0.1", "::1"};
  auto add = [&](std::string n) {
    if (n.empty() || std::find(names.begin(), names.end(), n) != names.end()) return;
    names.push_back(std::move(n));
  };
  char host[256] = {};
  if (sys::gethostname(host, sizeof host - 1).ok()) add(host);
  // A wildcard names no one; a Unix path is not a host.
  const bool wildcard = bind_address.empty() || bind_address == "::" || bind_address == "0.0.0.0";
  if (!wildcard && bind_address.find('/') == std::string::npos && bind_address.front() != '@')
    add(bind_address);
  return names;
}

}  // namespace sockecho::net
