"""`pipecore.iotdb_password` against Java itself: IoTDB 2.0.1's ``MessageDigestEncrypt`` (the
jar the real-IoTDB fixture runs) for passwords, and JDK 17's ``new String(bytes, UTF_8)`` for
byte strings — every string of up to 3 bytes over the bytes where UTF-8 decoders disagree, and
random 16-byte strings (an MD5's length)."""

from __future__ import annotations

import hashlib
import itertools
import random
import subprocess
from pathlib import Path

import pytest
from java_env import iotdb_lib, iotdb_versions

from pipecore.iotdb_password import iotdb_password_digest, java_utf8_decode

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

_ORACLE = r"""
import java.io.*;
import java.nio.charset.StandardCharsets;
import org.apache.iotdb.commons.security.encrypt.MessageDigestEncrypt;

public class Oracle {
  static String hex(byte[] b) {
    StringBuilder h = new StringBuilder();
    for (byte x : b) h.append(String.format("%02x", x));
    return h.toString();
  }
  public static void main(String[] args) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out)));
    MessageDigestEncrypt md = new MessageDigestEncrypt();
    for (String line; (line = in.readLine()) != null; ) {
      String text;
      if (line.startsWith("p ")) {
        text = md.encrypt(line.substring(2));
      } else {
        byte[] b = new byte[(line.length() - 2) / 2];
        for (int i = 0; i < b.length; i++)
          b[i] = (byte) Integer.parseInt(line.substring(2 + 2 * i, 4 + 2 * i), 16);
        text = new String(b, StandardCharsets.UTF_8);
      }
      out.println(hex(text.getBytes(StandardCharsets.UTF_8)));
    }
    out.flush();
  }
}
"""

# bytes at the edges of UTF-8's ranges (leads, continuations, the surrogate and overlong ones)
_EDGES = bytes.fromhex("41 80 8f 90 9f a0 bf c0 c2 df e0 e1 ed ef f0 f1 f4 f5 f8 ff")
_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()+=-_"


@pytest.mark.parametrize("version", iotdb_versions())
def test_iotdb_password_digest_is_what_iotdb_computes(version: str, tmp_path: Path) -> None:
    lib = iotdb_lib(version)
    jars = [next(lib.glob("node-commons-*.jar")), next(lib.glob("slf4j-api-*.jar"))]
    source = tmp_path / "Oracle.java"
    source.write_text(_ORACLE)
    rng = random.Random(2016)
    passwords = ["root", "lGPkMeXhHOqH", "gm*InAHi=^kjBw$3c_V!KCz@E25"] + [
        "".join(rng.choice(_CHARS) for _ in range(rng.randint(4, 32))) for _ in range(4000)
    ]
    blobs = [bytes(t) for n in (1, 2, 3) for t in itertools.product(_EDGES, repeat=n)]
    blobs += [bytes(t) for t in itertools.product(_EDGES[::3], repeat=4)]
    blobs += [rng.randbytes(16) for _ in range(20000)]
    lines = [f"p {p}" for p in passwords] + [f"b {b.hex()}" for b in blobs]
    proc = subprocess.run(
        ["java", "-cp", ":".join(map(str, jars)), str(source)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    got = proc.stdout.splitlines()
    assert len(got) == len(lines)
    ours = [iotdb_password_digest(p).encode().hex() for p in passwords]
    ours += [java_utf8_decode(b).encode().hex() for b in blobs]
    wrong = [(line, j, o) for line, j, o in zip(lines, got, ours, strict=True) if j != o]
    assert wrong == [], f"{len(wrong)} differ, e.g. {wrong[:5]}"
    # the digests that Python's own replacement would get wrong are among those checked
    naive = [_python_replace(p) for p in passwords]
    assert sum(n != o for n, o in zip(naive, ours[: len(naive)], strict=True)) > 0


def _python_replace(password: str) -> str:
    return hashlib.md5(password.encode()).digest().decode("utf-8", "replace").encode().hex()
