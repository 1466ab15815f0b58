"""A real IMAP server for the tests: Debian's Dovecot, run by the test on loopback.

Its own base directory, a passwd-file of users with plain passwords, maildirs in a temporary
directory, IMAP and IMAPS listeners on free ports with a self-signed certificate made for
``localhost`` (not ``127.0.0.1``: connecting by address fails the host-name check).
Messages arrive by IMAP APPEND, as a delivery agent's copy would.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
HOST = "localhost"  # the name in the certificate
USERS = 100


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _mail_owner() -> tuple[str, int, int]:
    """Login processes and mail may not run as root; as root, use the package's users."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return me.pw_name, me.pw_uid, me.pw_gid
    mail = pwd.getpwnam("dovecot")
    return "dovenull", mail.pw_uid, mail.pw_gid


@dataclass
class Mailbox:
    """One user's mailbox, reached as a mail client (to deliver, flag, rebuild)."""

    server: Dovecot
    user: str
    password: str

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.server.imap_port, timeout=10)
        imap.login(self.user, self.password)
        return imap

    def deliver(self, raw: bytes | EmailMessage, *, seen: bool = False, folder: str = "INBOX"):
        data = raw if isinstance(raw, bytes) else raw.as_bytes()
        with self.client() as imap:
            status, answer = imap.append(folder, "(\\Seen)" if seen else None, None, data)
            assert status == "OK", answer

    def set_seen(self, seen: bool, *, folder: str = "INBOX") -> None:
        """Every message read (or unread) by a colleague, or flags lost."""
        with self.client() as imap:
            imap.select(folder)
            imap.store("1:*", "+FLAGS" if seen else "-FLAGS", "(\\Seen)")

    def rebuild(self, folder: str) -> None:
        """Delete and recreate a folder: same name, a new UIDVALIDITY, UIDs from 1 again."""
        with self.client() as imap:
            imap.delete(folder)
            imap.create(folder)


class Dovecot:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="egards-dovecot-"))
        self.root.chmod(0o755)  # the unprivileged login and mail processes walk it
        self.imap_port, self.imaps_port = _free_port(), _free_port()
        self.cert = self.root / "cert.pem"
        login_user, uid, gid = _mail_owner()
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", uid, gid)
        # Users are all written now: Dovecot rereads a changed passwd-file at most once a
        # second, so one added during the run may not log in yet.
        self.users = self.root / "users"
        self.users.write_text(
            "".join(
                f"inbox{n}:{{PLAIN}}secret-{n}:{uid}:{gid}::{self.root}/mail/inbox{n}\n"
                for n in range(1, USERS + 1)
            )
        )
        self._given = 0
        key = self.root / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", key, "-out", self.cert, "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True,
        )  # fmt: skip
        key.chmod(0o644)
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            f"""
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_login_user = {login_user}
default_internal_user = {pwd.getpwuid(uid).pw_name}
first_valid_uid = 1
mail_location = maildir:~/Maildir
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = {self.users}
}}
userdb {{
  driver = passwd-file
  args = {self.users}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins: the tests give wrong passwords on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        )

    def start(self) -> Dovecot:
        # No pipes: the daemon's processes would hold them open, and a read would never end.
        started = subprocess.run(
            [DOVECOT, "-c", self.config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if started.returncode:
            raise RuntimeError("dovecot did not start: " + self.log())
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.imap_port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("dovecot did not start: " + self.log())
            time.sleep(0.05)

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else "(no log)"

    def mailbox(self) -> Mailbox:
        """A user of its own with an empty mailbox (each test one)."""
        self._given += 1
        assert self._given <= USERS, "raise USERS"
        return Mailbox(self, f"inbox{self._given}", f"secret-{self._given}")
