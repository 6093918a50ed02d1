"""Keys and certificates of the devcluster's Kubernetes API server.

We make our own CA rather than let kube-apiserver self-sign into ``--cert-dir``: kubeconfigs and
the controller manager's ``--root-ca-file`` then name one CA file that exists before the server
starts, and clients verify the server like they would on a real cluster.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from ..errors import MissingExtra

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as exc:
    raise MissingExtra("The sandbox's Kubernetes (mlp devcluster)", "devcluster") from exc

#: Names a client may use for the API server: loopback, and the in-cluster service names.
SERVER_DNS_NAMES = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                    "kubernetes.default.svc.cluster.local")
SERVER_IPS = ("127.0.0.1", "10.0.0.1")


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    sa_key: Path
    sa_pub: Path
    #: The API server's client certificate towards kubelets (``system:masters``).
    kubelet_client_cert: Path
    kubelet_client_key: Path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    path.chmod(0o600)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: ec.EllipticCurvePrivateKey, issuer: str,
                 issuer_key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder()
            .subject_name(_name(subject)).issuer_name(_name(issuer))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_key.public_key()), critical=False))


def make_pki(folder: Path) -> Pki:
    """A CA, a serving certificate for loopback signed by it, and the service-account key pair.

    EC P-256 for the TLS keys (fast to make); RSA 2048 for service-account tokens, the key type
    every Kubernetes version accepts for ``--service-account-signing-key-file``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (_certificate("mlplat-devcluster-ca", ca_key, "mlplat-devcluster-ca", ca_key)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=True, key_cert_sign=True, crl_sign=True,
              content_commitment=False, key_encipherment=False, data_encipherment=False,
              key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_DNS_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
    server = (_certificate("kube-apiserver", server_key, "mlplat-devcluster-ca", ca_key)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
              .sign(ca_key, hashes.SHA256()))
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (x509.CertificateBuilder()
              .subject_name(x509.Name([
                  x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                  x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver-kubelet-client")]))
              .issuer_name(_name("mlplat-devcluster-ca"))
              .public_key(client_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(datetime.datetime.now(datetime.timezone.utc)
                                - datetime.timedelta(minutes=5))
              .not_valid_after(datetime.datetime.now(datetime.timezone.utc)
                               + datetime.timedelta(days=365))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))

    pki = Pki(ca_cert=folder / "ca.crt", server_cert=folder / "apiserver.crt",
              server_key=folder / "apiserver.key", sa_key=folder / "sa.key",
              sa_pub=folder / "sa.pub", kubelet_client_cert=folder / "kubelet-client.crt",
              kubelet_client_key=folder / "kubelet-client.key")
    pki.kubelet_client_cert.write_bytes(client.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.kubelet_client_key, client_key)
    pki.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    pki.server_cert.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.server_key, server_key)
    _write_key(pki.sa_key, sa_key)
    pki.sa_pub.write_bytes(sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return pki
