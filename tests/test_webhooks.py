"""The webhook POST: https to public addresses only, pinned to the checked address, no redirects, one deadline.

Every refusal is tried against a real server listening on 127.0.0.1 where one can be: the test
asserts the server received nothing, not only that the call said no.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import time

import pytest

from retainwise.errors import InputError
from retainwise.platform import webhooks
from retainwise.platform.webhooks import DELIVERED, REFUSED, RETRY

from ._webhook_receiver import Dripper, Receiver

LOCAL = frozenset({"127.0.0.1"})
BODY, HEADERS = b'{"id":"e1","event":"run.completed"}', {"Content-Type": "application/json"}


# -- the form of the URL ------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # plain http, and the metadata service
        "http://127.0.0.1:5432",
        "http://0x7f000001/",
        "https://0x7f000001/",  # the same loopback, spelled in hex, decimal, octal and short
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://127.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",  # loopback wrapped in IPv6 forms
        "https://[2002:7f00:1::]/",
        "https://[64:ff9b::a00:1]/",
        "https://10.0.0.1/",
        "https://172.16.5.4/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[fd00:ec2::254]/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
        "https://224.0.0.1/",
        "https://user:pw@hooks.example/churn",
        "https://hooks.example/churn\x1b[31m",
        "https://hooks.example:99999/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "ftp://hooks.example/",
    ],
)
def test_inside_addresses_plain_http_and_odd_forms_are_refused(url):
    with pytest.raises(InputError) as caught:
        webhooks.check_url(url)
    assert caught.value.code == "bad_webhook"


@pytest.mark.parametrize(
    "url", ["https://hooks.example/churn", "https://93.184.216.34/x?a=1", "https://[2606:4700::1]/"]
)
def test_https_to_a_public_host_is_allowed(url):
    assert webhooks.check_url(url).scheme == "https"


def test_plain_http_only_to_a_host_the_operator_allows():
    assert webhooks.allowed_hosts(" 127.0.0.1, Hooks.Test ,") == {"127.0.0.1", "hooks.test"}
    assert webhooks.check_url("http://hooks.test:8080/x", {"hooks.test"}).trusted
    with pytest.raises(InputError):
        webhooks.check_url("http://other.test/x", {"hooks.test"})


# -- against local servers -------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/hooks/churn",  # plain http, not allowed
        "https://127.0.0.1:{port}/hooks/churn",  # loopback literal
        "https://0x7f000001:{port}/hooks/churn",
        "https://localhost:{port}/hooks/churn",  # a name that resolves to loopback
    ],
)
def test_nothing_reaches_a_local_server_unless_allowed(template):
    with Receiver() as r:
        attempt = webhooks.post(template.format(port=r.port), BODY, HEADERS, deadline_s=5)
    assert attempt.outcome == REFUSED and r.requests == []


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> list[str]:
    """Resolve the names in ``answers`` (one answer list per lookup, in turn); returns the names looked up."""
    real, asked = socket.getaddrinfo, []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        address = answers[host][min(len(asked), len(answers[host])) - 1]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("address", ["169.254.169.254", "10.1.2.3", "127.0.0.1", "::1", "fd00:ec2::254"])
def test_a_public_name_resolving_inside_is_refused(monkeypatch, address):
    fake_dns(monkeypatch, {"hooks.example": [address]})
    attempt = webhooks.post("https://hooks.example/churn", BODY, HEADERS, deadline_s=5)
    assert attempt.outcome == REFUSED and address in attempt.detail


def test_the_checked_address_is_the_one_connected_to(monkeypatch):
    """A rebinding name: public at the check, the local receiver's address on any later lookup."""
    with Receiver() as r:
        asked = fake_dns(monkeypatch, {"rebind.example": ["93.184.216.34", "127.0.0.1"]})
        attempt = webhooks.post(f"https://rebind.example:{r.port}/x", BODY, HEADERS, deadline_s=1)
    assert asked == ["rebind.example"]  # looked up once
    assert r.requests == [] and attempt.outcome == RETRY  # the public address (unreachable here), never ours


def test_host_header_names_the_host_while_the_socket_goes_to_its_address(monkeypatch):
    with Receiver() as r:
        asked = fake_dns(monkeypatch, {"hooks.test": ["127.0.0.1", "192.0.2.1"]})
        attempt = webhooks.post(f"http://hooks.test:{r.port}/x", BODY, HEADERS, allow_http={"hooks.test"})
    assert attempt.outcome == DELIVERED and asked == ["hooks.test"]
    assert r.requests[0]["headers"]["host"] == f"hooks.test:{r.port}" and r.requests[0]["body"] == BODY


def test_redirects_are_not_followed():
    with Receiver() as target, Receiver(answers=[302], location=None) as first:
        first.location = target.url
        attempt = webhooks.post(first.url, BODY, HEADERS, allow_http=LOCAL)
    assert attempt.outcome == REFUSED and attempt.status == 302 and "redirect" in attempt.detail
    assert len(first.requests) == 1 and target.requests == []


@pytest.mark.parametrize(
    "status, outcome", [(200, DELIVERED), (204, DELIVERED), (404, REFUSED), (429, RETRY), (503, RETRY)]
)
def test_answers_decide_delivered_retry_or_refused(status, outcome):
    with Receiver(answers=[status]) as r:
        assert webhooks.post(r.url, BODY, HEADERS, allow_http=LOCAL).outcome == outcome


def test_an_unreachable_receiver_is_retried_later():
    with Receiver() as r:
        url = r.url
    assert webhooks.post(url, BODY, HEADERS, allow_http=LOCAL).outcome == RETRY


def test_a_slow_drip_server_cannot_hold_the_call_past_the_deadline():
    deadline_s = 2.0
    with Dripper(interval_s=0.5) as slow:  # each read gets a byte well within any per-read timeout
        started = time.monotonic()
        attempt = webhooks.post(slow.url, BODY, HEADERS, allow_http=LOCAL, deadline_s=deadline_s)
        took = time.monotonic() - started
    assert attempt.outcome == RETRY and "deadline" in attempt.detail
    assert slow.bytes_sent >= 2  # it was dripping, not silent
    assert took < deadline_s * 1.5  # the deadline plus a little, against the ~5000 s the drip would take


# -- TLS to the pinned address -----------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A test CA and a certificate for hooks.test signed by it (PEM paths: ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder, now = tmp_path_factory.mktemp("tls"), datetime.datetime.now(datetime.UTC)

    def cert(subject, key, issuer, issuer_key, *, ca: bool):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = cert("RetainWise test CA", ca_key, "RetainWise test CA", ca_key, ca=True)
    leaf = cert("hooks.test", leaf_key, "RetainWise test CA", ca_key, ca=False)
    paths = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return {k: str(v) for k, v in paths.items()}


@pytest.mark.parametrize("name, outcome", [("hooks.test", DELIVERED), ("other.test", RETRY)])
def test_tls_names_the_host_for_sni_and_the_certificate(monkeypatch, tls_files, name, outcome):
    context = ssl.create_default_context(cafile=tls_files["ca"])
    with Receiver().use_tls(tls_files["cert"], tls_files["key"]) as r:
        fake_dns(monkeypatch, {name: ["127.0.0.1"]})
        url = f"https://{name}:{r.port}/hooks"
        attempt = webhooks.post(url, BODY, HEADERS, allow_http={name}, context=context, deadline_s=5)
    assert attempt.outcome == outcome and r.sni == [name]
    assert len(r.requests) == (
        1 if outcome == DELIVERED else 0
    )  # a certificate for another name: nothing sent


def test_international_names_and_paths_are_sent_as_ascii():
    target = webhooks.check_url("https://bücher.example/hooks/ä?name=ü&x=1")
    assert target.host == "xn--bcher-kva.example" and target.path == "/hooks/%C3%A4?name=%C3%BC&x=1"


@pytest.mark.parametrize(
    "url, said",
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is not a public address"),
        ("http://0x7f000001/", "127.0.0.1 is not a public address"),  # the address meant, not the spelling
        ("http://hooks.example/churn", "plain http is not allowed"),
    ],
)
def test_the_refusal_says_what_would_fix_it(url, said):
    with pytest.raises(InputError, match=said):
        webhooks.check_url(url)
