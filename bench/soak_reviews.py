#!/usr/bin/python3
"""Writes the AdmissionReview bodies bench/soak.sh sends.

Usage: soak_reviews.py OUT_DIR SOURCE...
Each SOURCE is a manifest (YAML or JSON, one or more documents; a List's items count one
by one) or an AdmissionReview / bare AdmissionRequest (JSON), or a directory of them (its
*.yaml, *.yml and *.json files). A manifest becomes the admission.k8s.io/v1 CREATE review
the apiserver would send for it. Every review goes to /validate, and Jobs and CronJobs to
/mutate as well, each request with its own uid. Writes OUT_DIR/<n>.json and prints one line per
request: "<path>\t<file>\t<uid>".
"""
import json
import os
import sys

import yaml


class Loader(yaml.SafeLoader):
    """Timestamps stay strings, as Kubernetes' YAML decoder leaves them."""


Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def documents(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    if path.endswith(".json"):
        try:
            return [json.loads(text)]
        except json.JSONDecodeError:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [d for d in yaml.load_all(text, Loader=Loader) if d is not None]


def requests_of(doc):
    """(request, kind) pairs of one document; nothing for what is no object to admit."""
    if not isinstance(doc, dict):
        return []
    if doc.get("kind") == "AdmissionReview":
        req = doc.get("request")
        return [(req, doc.get("apiVersion"))] if isinstance(req, dict) else []
    if isinstance(doc.get("kind"), dict) and "operation" in doc and "uid" in doc:
        return [(doc, "admission.k8s.io/v1")]  # a bare AdmissionRequest
    kind = doc.get("kind")
    if not isinstance(kind, str) or "apiVersion" not in doc:
        return []
    if kind == "List" or kind.endswith("List"):
        out = []
        for item in doc.get("items") or []:
            out.extend(requests_of(item))
        return out
    group, _, version = doc["apiVersion"].rpartition("/")
    meta = doc.setdefault("metadata", {})
    ns = meta.get("namespace", "default")
    meta["namespace"] = ns
    req = {
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": kind.lower() + "s"},
        "namespace": ns,
        "name": meta.get("name", ""),
        "operation": "CREATE",
        "userInfo": {"username": "system:serviceaccount:agents:spawner"},
        "object": doc,
        "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    return [(req, "admission.k8s.io/v1")]


def main():
    out_dir, sources = sys.argv[1], sys.argv[2:]
    files = []
    for s in sources:
        if os.path.isdir(s):
            files += sorted(
                os.path.join(s, n) for n in os.listdir(s) if n.endswith((".yaml", ".yml", ".json"))
            )
        elif os.path.exists(s):
            files.append(s)
    n = 0
    for path in files:
        try:
            docs = documents(path)
        except (ValueError, yaml.YAMLError) as e:
            print(f"soak_reviews: skipping {path}: {e}", file=sys.stderr)
            continue
        for doc in docs:
            for req, api_version in requests_of(doc):
                paths = ["/validate"]
                if req.get("kind", {}).get("kind") in ("Job", "CronJob"):
                    paths.append("/mutate")
                # One body per request, each with its own uid: an answer names its request.
                for p in paths:
                    n += 1
                    req["uid"] = f"00000000-0000-4000-8000-{n:012d}"
                    body = os.path.join(out_dir, f"{n}.json")
                    with open(body, "w") as f:
                        json.dump({"apiVersion": api_version or "admission.k8s.io/v1",
                                   "kind": "AdmissionReview", "request": req}, f)
                    print(f"{p}\t{body}\t{req['uid']}")

if __name__ == "__main__":
    main()
