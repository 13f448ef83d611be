"""Test certificates made with the `openssl` command line, in a temporary directory.

    class MyTest(E2E):
        @classmethod
        def setUpClass(cls):
            cls.certs = tls_certs.Certs()      # makes every certificate below
            cls.addClassCleanup(cls.certs.remove)

        ... self.certs.ca, self.certs.good.cert, self.certs.good.key,
            fingerprint(self.certs.good.cert) ...

What there is (every key ECDSA P-256, every signature SHA-256):
    ca             a test CA ("CN=sockecho test CA,O=sockecho tests"), basicConstraints
                   critical CA:TRUE, keyUsage keyCertSign/cRLSign; ca.pem is what --cafile reads
    good           localhost + IP:127.0.0.1, signed by the CA, valid from a day ago for a year
    self_signed    the same names, signed by its own key
    expired        signed by the CA, valid from 400 to 30 days ago
    not_yet_valid  signed by the CA, valid from 30 to 400 days from now
    wrong_name     signed by the CA, for DNS:wrong.example only
    unknown_ca     the same names as good, signed by a second CA nobody trusts
    thirty_days    signed by the CA, valid from now for 30 days (--warn-expiry)
    client         a client certificate (extendedKeyUsage clientAuth) signed by the CA

Each leaf is a Leaf(cert=..., key=..., subject=...): PEM paths, and the subject as sockecho
prints it (RFC 2253, most specific first). OpenSSL 3.0's `openssl x509` cannot set a start
date, so the leaves are issued with `openssl ca` (-startdate/-enddate) from a minimal
config; the CAs with `openssl req -x509`.
"""

import datetime
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

ORG = "sockecho tests"  # a space in it: table output must quote the subject
CA_SUBJECT = f"CN=sockecho test CA,O={ORG}"
OTHER_CA_SUBJECT = f"CN=some other CA,O={ORG}"

_CA_CONF = """\
[ ca ]
default_ca = test_ca

[ test_ca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
certificate = {cert}
private_key = {key}
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none

[ policy_any ]
organizationName = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ ca_ext ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[ server_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {{san}}

[ client_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

GOOD_SAN = "DNS:localhost,IP:127.0.0.1"


@dataclass
class Leaf:
    cert: str     # PEM certificate
    key: str      # PEM private key
    subject: str  # as sockecho prints it: "CN=localhost,O=sockecho tests"


def openssl(*args, cwd=None, env=None):
    """Run `openssl ARGS`; raise with its stderr when it fails."""
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed (rc={r.returncode}): "
                           f"{r.stderr.decode('utf-8', 'replace').strip()}")
    return r.stdout.decode("utf-8", "replace")


def fingerprint(cert_path) -> str:
    """The certificate's SHA-256 fingerprint as `openssl x509 -fingerprint` prints it:
    upper-case hex pairs with colons, as serve's LISTEN line shows it."""
    out = openssl("x509", "-in", cert_path, "-noout", "-fingerprint", "-sha256").strip()
    return out.split("=", 1)[1]


def not_after(cert_path) -> datetime.datetime:
    out = openssl("x509", "-in", cert_path, "-noout", "-enddate").strip()
    when = out.split("=", 1)[1]  # "Jun  1 12:00:00 2025 GMT"
    return datetime.datetime.strptime(when, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)


def not_before(cert_path) -> datetime.datetime:
    out = openssl("x509", "-in", cert_path, "-noout", "-startdate").strip()
    when = out.split("=", 1)[1]
    return datetime.datetime.strptime(when, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)


def _asn1_time(t: datetime.datetime) -> str:
    """-startdate/-enddate: UTCTime (YYMMDDHHMMSSZ) up to 2049, GeneralizedTime after."""
    return t.strftime("%y%m%d%H%M%SZ" if t.year < 2050 else "%Y%m%d%H%M%SZ")


def _subject_arg(cn):
    return f"/O={ORG}/CN={cn}"


class _Ca:
    """A CA directory: its key and certificate, and what `openssl ca` keeps."""

    def __init__(self, root, name, cn):
        self.dir = os.path.join(root, name)
        os.makedirs(os.path.join(self.dir, "issued"))
        self.cert = os.path.join(self.dir, "ca.pem")
        self.key = os.path.join(self.dir, "ca.key")
        with open(os.path.join(self.dir, "index.txt"), "w"):
            pass
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("1000\n")
        self.conf_template = _CA_CONF.format(dir=self.dir, cert=self.cert, key=self.key)
        self.conf = os.path.join(self.dir, "ca.cnf")
        with open(self.conf, "w") as f:
            f.write(self.conf_template.replace("{san}", GOOD_SAN))
        openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", self.key, "-out", self.cert, "-sha256", "-days", "3650",
                "-subj", _subject_arg(cn), "-config", self.conf, "-extensions", "ca_ext")

    def issue(self, out_dir, name, cn, start, end, ext="server_ext", san=GOOD_SAN) -> Leaf:
        key = os.path.join(out_dir, f"{name}.key")
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(out_dir, f"{name}.pem")
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", csr, "-subj", _subject_arg(cn), "-config", self.conf)
        conf = os.path.join(self.dir, f"{name}.cnf")
        with open(conf, "w") as f:
            f.write(self.conf_template.replace("{san}", san))
        openssl("ca", "-batch", "-notext", "-config", conf, "-in", csr, "-out", cert,
                "-startdate", _asn1_time(start), "-enddate", _asn1_time(end),
                "-extensions", ext, "-subj", _subject_arg(cn))
        return Leaf(cert, key, f"CN={cn},O={ORG}")


class Certs:
    """Every certificate of the module docstring, in a fresh temporary directory;
    remove() deletes it (call it from tearDownClass or addClassCleanup)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sockecho-certs-")
        try:
            self._make()
        except BaseException:
            self.remove()
            raise

    def _make(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        day = datetime.timedelta(days=1)
        ca = _Ca(self.dir, "ca", "sockecho test CA")
        other = _Ca(self.dir, "other-ca", "some other CA")
        self.ca = ca.cert
        self.ca_subject = CA_SUBJECT
        self.other_ca = other.cert
        d = self.dir
        self.good = ca.issue(d, "good", "localhost", now - day, now + 365 * day)
        self.expired = ca.issue(d, "expired", "localhost", now - 400 * day, now - 30 * day)
        self.not_yet_valid = ca.issue(d, "not-yet-valid", "localhost", now + 30 * day, now + 400 * day)
        self.wrong_name = ca.issue(d, "wrong-name", "wrong.example", now - day, now + 365 * day,
                                   san="DNS:wrong.example")
        self.unknown_ca = other.issue(d, "unknown-ca", "localhost", now - day, now + 365 * day)
        self.thirty_days = ca.issue(d, "thirty-days", "localhost", now, now + 30 * day)
        self.client = ca.issue(d, "client", "sockecho test client", now - day, now + 365 * day,
                               ext="client_ext")
        # Self-signed: a certificate that is its own issuer, with the good leaf's names.
        key = os.path.join(d, "self-signed.key")
        cert = os.path.join(d, "self-signed.pem")
        openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", cert, "-sha256", "-days", "365",
                "-subj", _subject_arg("localhost"), "-config", ca.conf,
                "-addext", f"subjectAltName={GOOD_SAN}",
                "-addext", "basicConstraints=critical,CA:FALSE",
                "-addext", "extendedKeyUsage=serverAuth")
        self.self_signed = Leaf(cert, key, f"CN=localhost,O={ORG}")

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)
