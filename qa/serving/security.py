"""What keeps an exposed server safe: where it may listen, who may change the corpus, which files it reads.

- `qa serve` listens on 127.0.0.1 unless told otherwise; on any other address it refuses to start
  without a token (QA_TOKEN) unless `--insecure` says the user accepts an open server.
- With a token set, every action that changes documents or the index needs it: the Documents
  tab's token field, or an `Authorization: Bearer <token>` header from API clients.
- Upload handlers read only files inside Gradio's upload folder. A client can name any path in a
  file reference, and the mounted app (gr.mount_gradio_app) does not check it, so we do.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from pathlib import Path

from qa.errors import BadInputError

TOKEN_NEEDED = "此操作需要管理口令 / This action needs the admin token (QA_TOKEN): enter it in the token field"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def check_exposure(host: str, token: str, insecure: bool) -> None:
    """Refuse to listen beyond loopback without a token, unless the user said --insecure."""
    if is_loopback(host) or token or insecure:
        return
    raise BadInputError(
        f"refusing to listen on {host} without a token: anyone who can reach it could replace the documents. "
        "Set QA_TOKEN to a secret (actions that change documents will ask for it), "
        "or pass --insecure to serve without one"
    )


def token_ok(expected: str, given: str | None = None, authorization: str | None = None) -> bool:
    """Whether a corpus-changing request may proceed: no token configured, or the right one given."""
    if not expected:
        return True
    candidates = [given or ""]
    if authorization and authorization.lower().startswith("bearer "):
        candidates.append(authorization[7:].strip())
    return any(hmac.compare_digest(c.encode("utf-8", "replace"), expected.encode("utf-8")) for c in candidates)


def upload_root() -> Path:
    """Gradio's upload folder (GRADIO_TEMP_DIR, else <tmp>/gradio): the only place uploads come from."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def uploaded_file(path: str | os.PathLike, root: Path) -> Path:
    """`path` if it is a regular file inside `root` (symlinks resolved), else BadInputError."""
    try:
        real = Path(os.path.realpath(path))
        inside = real.is_relative_to(Path(os.path.realpath(root)))
    except (OSError, ValueError, TypeError):
        inside = False
    if not inside or not real.is_file():
        raise BadInputError(
            f"{Path(str(path)).name}: not a file uploaded to this server; "
            "upload it with the upload box (只能使用通过上传框上传的文件)"
        )
    return real
