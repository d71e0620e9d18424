"""A persistent judgment cache: (judge key, request) -> answer text, in SQLite (no pickle).

Only answers are stored, never failures, so a rerun retries what failed and sends nothing else.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path


def request_key(judge_key: dict, payload: dict) -> str:
    blob = json.dumps({"judge": judge_key, "request": payload}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class JudgmentCache:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS judgments (key TEXT PRIMARY KEY, judge TEXT, text TEXT, created REAL DEFAULT (julianday('now')))")

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM judgments WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, judge_id: str, text: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO judgments (key, judge, text) VALUES (?, ?, ?)", (key, judge_id, text))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
