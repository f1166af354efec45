#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""tests/tools/openapi_check.py - compare a running server with docs/openapi.yaml.

    openapi_check.py --spec docs/openapi.yaml --base http://127.0.0.1:PORT \
        --token-file FILE --param id=ID --param sku=SKU \
        [--scratch id=ID2] [--problems fcgi/problem.h]

For every documented path the server is asked which methods it routes (a
method nobody routes, answered 405 with `Allow`): each routed method must be
documented and each documented method routed. For every documented
operation, representative requests are sent:

  - without credentials, and with a wrong bearer: when the operation (or the
    document) declares `security`, the answer must be 401; when it does not,
    the answer must not be 401;
  - with the bearer, no body and no If-Match;
  - with the bearer and an unknown value of each path parameter;

and each answer's status must be one the operation documents (`default`
covers any), with a documented content type when the response lists any.
Problem answers must carry a `type` the document lists. With --problems,
every problem slug the server defines must be documented.

Operations other than GET/HEAD use the --scratch values of path parameters
(they may change or delete that entity); DELETE runs last. The checker reads
the spec, it knows nothing of this server's routes: it stays right when
routes, status codes or security change, as long as the document follows.
Prints TAP lines (ok - / not ok -); exit 0 when everything agrees, else 1.
"""
import argparse
import http.client
import json
import re
import sys
import urllib.parse

import yaml

METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
PROBE = "PUT"  # asked first to learn `Allow`; documented or not, it is compared too
UNKNOWN = {"id": "0" * 31 + "1", "sku": "NO-SUCH-SKU-0000"}

failures = 0


def ok(what):
    print(f"ok - openapi: {what}")


def not_ok(what, why):
    global failures
    failures += 1
    print(f"not ok - openapi: {what} ({why})")


def resolve(spec, node):
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 16:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SystemExit(f"openapi_check, external $ref '{ref}' is not supported")
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
    return node


class Server:
    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.token = token

    def request(self, method, path, auth=None, headers=None):
        """auth: None (no Authorization), 'good' or 'bad'. Returns (status, headers, body)."""
        h = dict(headers or {})
        if auth == "good":
            h["Authorization"] = f"Bearer {self.token}"
        elif auth == "bad":
            h["Authorization"] = "Bearer not-the-secret-" + "x" * 24
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path, headers=h)
            r = conn.getresponse()
            body = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            conn.close()


def fill(template, values):
    def sub(m):
        name = m.group(1)
        if name not in values:
            raise SystemExit(f"openapi_check, no value for path parameter '{name}' "
                             f"(give --param {name}=VALUE)")
        return urllib.parse.quote(values[name], safe="")
    return re.sub(r"\{([^}]+)\}", sub, template)


def documented_problem_types(spec):
    text = json.dumps(spec)
    return set(re.findall(r"https://souk\.dev/problems/[a-z0-9-]+", text))


def check_answer(spec, op, what, status, headers, body, method, problem_types):
    responses = op.get("responses", {})
    doc = responses.get(str(status), responses.get(f"{str(status)[0]}XX",
                                                   responses.get("default")))
    if doc is None:
        codes = ", ".join(sorted(str(k) for k in responses))
        not_ok(what, f"answered {status}, documented: {codes}")
        return
    doc = resolve(spec, doc)
    ctype = headers.get("content-type", "").split(";")[0].strip()
    content = doc.get("content") or {}
    if content and method != "HEAD" and body and ctype not in content:
        not_ok(what, f"answered {status} as '{ctype}', documented: {', '.join(content)}")
        return
    if ctype == "application/problem+json":
        try:
            ptype = json.loads(body).get("type", "")
        except ValueError:
            not_ok(what, f"answered {status} with a problem that is not JSON")
            return
        if ptype not in problem_types:
            not_ok(what, f"answered {status} with problem type '{ptype}', not in the document")
            return
    ok(f"{what}: {status} is documented")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spec", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE for reads")
    ap.add_argument("--scratch", action="append", default=[],
                    help="NAME=VALUE for operations that may change or delete the entity")
    ap.add_argument("--problems", help="C header defining PROBLEM_* slugs")
    a = ap.parse_args()

    with open(a.spec, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    with open(a.token_file, encoding="utf-8") as f:
        token = f.readline().rstrip("\r\n")
    params = dict(p.split("=", 1) for p in a.param)
    scratch = dict(params, **dict(p.split("=", 1) for p in a.scratch))
    server = Server(a.base, token)
    problem_types = documented_problem_types(spec)
    top_security = spec.get("security")

    if a.problems:
        with open(a.problems, encoding="utf-8") as f:
            slugs = re.findall(r'^#define PROBLEM_[A-Z_]+\s+"([a-z0-9-]+)"', f.read(), re.M)
        missing = [s for s in slugs if f"https://souk.dev/problems/{s}" not in problem_types]
        if missing:
            not_ok("every problem type the server defines is documented",
                   "undocumented: " + ", ".join(missing))
        else:
            ok(f"every problem type the server defines is documented ({len(slugs)})")

    ops = []  # (path, method, op)
    for path, item in spec.get("paths", {}).items():
        item = resolve(spec, item)
        documented = {m.upper() for m in METHODS if m in item}
        if "GET" in documented:
            documented.add("HEAD")  # HTTP: HEAD goes with GET
        # which methods does the server route here?
        probe = PROBE if PROBE not in documented else "TRACE"
        status, headers, _ = server.request(probe, fill(path, params), auth="good")
        if status == 405 and "allow" in headers:
            routed = {m.strip().upper() for m in headers["allow"].split(",") if m.strip()}
            routed.discard("OPTIONS")
            if routed != documented:
                not_ok(f"{path} methods",
                       f"server routes {', '.join(sorted(routed))}, "
                       f"document has {', '.join(sorted(documented))}")
            else:
                ok(f"{path}: the methods the server routes are the documented ones "
                   f"({', '.join(sorted(routed))})")
        elif status == 404:
            not_ok(f"{path} is routed", f"{probe} answered 404")
        else:
            not_ok(f"{path} methods", f"{probe} answered {status} without a 405 and Allow")
        for m in METHODS:
            if m in item:
                ops.append((path, m.upper(), item[m]))

    # reads first, deletes last: the scratch entity may be gone after them
    order = {"GET": 0, "HEAD": 0, "POST": 1, "PATCH": 1, "PUT": 1, "DELETE": 2}
    ops.sort(key=lambda o: order.get(o[1], 1))
    for path, method, op in ops:
        values = params if method in ("GET", "HEAD") else scratch
        real = fill(path, values)
        security = op.get("security", top_security)
        secured = bool(security) and not any(req == {} for req in security)
        name = f"{method} {path}"
        for auth, label in ((None, "without credentials"), ("bad", "with a wrong bearer")):
            status, headers, body = server.request(method, real, auth=auth)
            if secured and status != 401:
                not_ok(f"{name} {label}", f"declares security but answered {status}, not 401")
            elif not secured and status == 401:
                not_ok(f"{name} {label}", "declares no security but answered 401")
            else:
                check_answer(spec, op, f"{name} {label}", status, headers, body, method,
                             problem_types)
        status, headers, body = server.request(method, real, auth="good")
        check_answer(spec, op, f"{name} with the bearer, no body, no If-Match", status,
                     headers, body, method, problem_types)
        for pname in re.findall(r"\{([^}]+)\}", path):
            unknown = dict(values, **{pname: UNKNOWN.get(pname, "no-such-" + pname)})
            status, headers, body = server.request(method, fill(path, unknown), auth="good")
            check_answer(spec, op, f"{name} with the bearer, unknown {pname}", status,
                         headers, body, method, problem_types)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
