"""The web server's nginx.conf, its docroot and its access log format, without a network."""

from __future__ import annotations

import email.utils
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from protolab.servers import webroot
from protolab.servers.nginx import NginxConfig, parse_access_log
from protolab.servers.process import ServiceError

CONFIG = NginxConfig(address="10.0.2.80", port=8080, keepalive_requests=3, keepalive_timeout=1.5, max_age=120,
                     cookie="session=abc")


def directives(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_the_config_says_what_the_lab_relies_on(tmp_path):
    lines = directives(CONFIG.render(tmp_path))
    for expected in ("daemon off;", "user www-data;", "worker_processes 1;", "server_tokens off;",
                     "listen 10.0.2.80:8080;", "keepalive_requests 3;", "keepalive_timeout 1500ms;",
                     'add_header Cache-Control "max-age=120";', "return 301 /index.html;",
                     'add_header Set-Cookie "session=abc; Path=/";', 'return 200 "Cookie: $http_cookie\\n";',
                     "error_page 405 @not_allowed;", 'add_header Allow "GET, HEAD" always;', "deny all;",
                     "absolute_redirect off;"):
        assert expected in lines, expected
    assert [line for line in lines if line.startswith("listen")] == ["listen 10.0.2.80:8080;"]  # no IPv6, one address
    fields = re.search(r"log_format lab escape=json '(.*)';", "\n".join(lines)).group(1)
    for variable in ("$connection", "$connection_requests", "$request", "$status", "$body_bytes_sent"):
        assert f"{variable}," in fields or f'{variable}"' in fields or f"{variable}}}" in fields, variable


def test_every_file_nginx_writes_is_in_its_directory(tmp_path):
    lines = directives(CONFIG.render(tmp_path))
    writers = ("pid", "lock_file", "error_log", "access_log", "client_body_temp_path", "proxy_temp_path",
               "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path", "root")
    found = [(line.split()[0], line.split()[1].rstrip(";")) for line in lines if line.split()[0] in writers]
    found = [(directive, path) for directive, path in found if path != "off"]  # the probe's path is not logged
    assert sorted(directive for directive, _ in found) == sorted(writers)
    for directive, path in found:
        assert Path(path).is_relative_to(tmp_path), directive
    text = CONFIG.render(tmp_path)
    assert not any(place in text for place in ("/var/", "/etc/", "/usr/", "/run/", "include"))  # nothing of the host's


@pytest.mark.parametrize("field, value, message", [
    ("address", "10.0.2", "not an IPv4 address"),
    ("address", "::1", "not an IPv4 address"),
    ("port", 0, "not a TCP port"),
    ("port", 70000, "not a TCP port"),
    ("user", "www data;", "not a user name"),
    ("keepalive_requests", 0, "keepalive_requests must be 1 or more"),
    ("keepalive_timeout", -1, "keepalive_timeout must be 0 to 3600 s"),
    ("max_age", -5, "max_age must be 0 or more"),
    ("cookie", 'a="b"; evil', "is not NAME=VALUE"),
])
def test_bad_parameters_are_one_line_errors(field, value, message):
    with pytest.raises(ServiceError, match=message) as info:
        NginxConfig(**{field: value})
    assert "\n" not in str(info.value)


def test_rendering_needs_an_address(tmp_path):
    with pytest.raises(ServiceError, match="no listen address"):
        NginxConfig().render(tmp_path)


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (scripts/bootstrap installs it)")
def test_nginx_itself_accepts_the_config(tmp_path):
    # nginx -t binds the listen address: the loopback one of the machine, for an instant
    config = NginxConfig(address="127.0.0.1", port=free_loopback_port())
    webroot.write_docroot(tmp_path / "docroot")
    (tmp_path / "nginx.conf").write_text(config.render(tmp_path))
    result = subprocess.run(["nginx", "-t", "-p", f"{tmp_path}/", "-e", "stderr", "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_docroot_has_fixed_times_and_the_sizes_a_lab_needs(tmp_path):
    webroot.write_docroot(tmp_path)
    for path, content in webroot.files().items():
        file = webroot.file_of(tmp_path, path)
        assert file.read_bytes() == content
        assert file.stat().st_mtime == webroot.MTIME and file.stat().st_mode & 0o777 == 0o644
    assert 2000 <= len(webroot.files()[webroot.INDEX]) <= 5000  # a few KB
    assert len(webroot.files()[webroot.BIG]) >= 5 * 1448  # more than a few full segments
    index = webroot.file_of(tmp_path, webroot.INDEX)
    assert webroot.etag_of(index) == f'"6553f100-{len(webroot.files()[webroot.INDEX]):x}"'
    assert webroot.last_modified_of(index) == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert email.utils.parsedate_to_datetime(webroot.last_modified_of(index)).timestamp() == webroot.MTIME
    assert list(tmp_path.rglob(".*")) == []  # no half-written file left behind


def test_a_replaced_file_of_the_same_size_still_gets_a_new_etag(tmp_path):
    webroot.write_docroot(tmp_path)
    index = webroot.file_of(tmp_path, webroot.INDEX)
    before = webroot.etag_of(index)
    same_size = bytes(reversed(index.read_bytes()))
    assert webroot.replace_file(tmp_path, webroot.INDEX, same_size) == index
    assert index.read_bytes() == same_size and index.stat().st_mtime == webroot.MTIME + webroot.CHANGE_STEP
    assert webroot.etag_of(index) != before
    webroot.replace_file(tmp_path, webroot.INDEX, b"again")
    assert index.stat().st_mtime == webroot.MTIME + 2 * webroot.CHANGE_STEP


@pytest.mark.parametrize("path", ["index.html", "/", "/../etc/passwd", "/a/../../b"])
def test_a_path_outside_the_docroot_is_refused(tmp_path, path):
    with pytest.raises(ServiceError, match="not a file path of the web server"):
        webroot.file_of(tmp_path, path)


def test_the_access_log_parses_to_entries_and_skips_a_line_being_written():
    text = (
        '{"time":1796197573.947,"connection":2,"connection_requests":1,"client":"10.0.1.10","client_port":53820,'
        '"request":"GET /index.html HTTP/1.1","status":200,"body_bytes_sent":3075}\n'
        '{"time":1796197573.956,"connection":2,"connection_requests":2,"client":"10.0.1.10","client_port":53820,'
        '"request":"GET /a\\"b HTTP/1.1","status":404,"body_bytes_sent":146}\n'
        '{"time":1796197573.9'
    )
    first, second = parse_access_log(text)
    assert (first.connection, first.connection_requests, first.status, first.body_bytes_sent) == (2, 1, 200, 3075)
    assert first.client == ("10.0.1.10", 53820) and (first.method, first.path) == ("GET", "/index.html")
    assert second.request == 'GET /a"b HTTP/1.1' and second.connection_requests == 2
