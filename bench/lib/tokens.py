"""HS256 user tokens, as an app's backend mints them."""

import base64
import hashlib
import hmac
import json
import time


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(secret, app, user, expires_in=3 * 3600):
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps({"sub": user, "aud": app,
                                  "exp": int(time.time()) + expires_in})
                      .encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(secret.encode(), signing_input,
                         hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"
