"""The ceiling for bench/intake.py: a bare Flask app that parses the same JSON body and answers 201."""
from __future__ import annotations

import sys

import waitress
from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/v1/comments")
def accept():
    body = request.get_json()
    return jsonify(id=1, status="pending", article_id=body["article_id"]), 201


if __name__ == "__main__":
    waitress.serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]), ident="ceiling")
