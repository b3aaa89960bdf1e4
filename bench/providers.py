"""Provider figures: notification verification cost, the Zhima band search's calls, cold import.

Run alone with `python bench/providers.py` (or add "bench.providers" to bench/run.py's MODULES).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

VECTORS = Path(__file__).resolve().parents[1] / "tests" / "vectors"
GOALS = {
    "alipay_notification_verify_ms": "median, parse form + RSA2 verify (vector)",
    "wechat_notification_verify_decrypt_ms": "median, RSA verify + AES-GCM decrypt (vector)",
    "zhima_calls_max": "<= 3 over every band",
    "band_search_loopback_ms": "median, signed calls to the local fake gateway",
    "providers_import_ms": "cold import of both adapters + cryptography (lazy: not at app import)",
    "app_import_loads_cryptography": "0 (providers load on first use)",
    "wechat_use_params_sign_us": "median, signed wxpayScoreUse params (APIv2 HMAC-SHA256)",
    "wechat_settle_calls": "v3 calls to settle a rental: order query + one /complete (strict fake)",
    "wechat_charge_calls": "v3 calls to charge pay later: query, /complete, collection query",
    "wechat_fake_violations": "0 (rules the strict fake recorded over the bench run)",
}


def _median_ms(fn, n: int = 200) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 3)


def _verify_figures() -> dict[str, float]:
    from chalicelib.providers import alipay_format, keys, wechat_format

    ali = json.loads((VECTORS / "alipay_trade_status_sync.json").read_text())
    wx = json.loads((VECTORS / "wechatpay_payscore_notify.json").read_text())
    ali_key, raw = keys.load_public_key(ali["alipay_public_key_base64_der"]), urlencode(ali["params"]).encode()
    wx_keys = {wx["platform_serial"]: keys.load_public_key(wx["platform_certificate_pem"])}
    at = datetime.fromtimestamp(int(wx["headers"]["Wechatpay-Timestamp"]), tz=timezone.utc)
    body = wx["body"].encode()

    def wechat() -> None:
        wechat_format.verify_signed(wx["headers"], body, wx_keys, at)
        wechat_format.decrypt_resource(json.loads(body)["resource"], wx["apiv3_key"])

    return {
        "alipay_notification_verify_ms": _median_ms(
            lambda: alipay_format.verify_notification(alipay_format.parse_form(raw), ali_key)
        ),
        "wechat_notification_verify_decrypt_ms": _median_ms(wechat),
    }


def _band_figures() -> dict[str, float]:
    from chalicelib.clock import SystemClock
    from chalicelib.config import Settings
    from chalicelib.providers.alipay import AlipayProvider
    from tests.providers.fake_alipay import FakeAlipay

    gw = FakeAlipay()  # the strict fake: a request it refuses would show in gw.violations
    settings = replace(Settings(), **{k.removeprefix("CREDITFIRST_").lower(): v for k, v in gw.env().items()})
    provider = AlipayProvider(SimpleNamespace(settings=settings, clock=SystemClock(), table=_MemoryTable()))
    most, times = 0, []
    for score in range(350, 951, 7):
        user = f"2088{score:012d}"  # one member per score: a member's edges are cached for the snapshot's life
        gw.scores[user] = score
        before = len(gw.calls)
        t = time.perf_counter()
        provider.authorize_credit(user, f"a{score}")
        times.append((time.perf_counter() - t) * 1000)
        most = max(most, len(gw.calls) - before)
    gw.stop()
    assert gw.violations == [], gw.violations
    return {"zhima_calls_max": most, "band_search_loopback_ms": round(statistics.median(times), 2)}


def _import_figures() -> dict[str, float]:
    code = (
        "import time,sys; t=time.perf_counter(); import chalicelib.providers.alipay, chalicelib.providers.wechat;"
        "from chalicelib.providers import keys; keys.load_public_key; import cryptography.hazmat.primitives.asymmetric.rsa;"
        "print(round((time.perf_counter()-t)*1000,1))"
    )
    root = str(Path(__file__).resolve().parents[1])
    ms = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root).stdout)
    app = subprocess.run(
        [sys.executable, "-c", "import sys, app; print(int('cryptography' in sys.modules))"],
        capture_output=True,
        text=True,
        cwd=root,
    ).stdout.strip()
    return {"providers_import_ms": ms, "app_import_loads_cryptography": int(app or -1)}


class _MemoryTable:
    """Just enough of store.dynamo.Table for the adapters' ledger: put if absent, get, set facts."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict] = {}

    def get(self, pk: str, sk: str) -> dict | None:
        return self.items.get((pk, sk))

    def put(self, item: dict, condition: str | None = None, **_: object) -> None:
        from chalicelib.store.dynamo import ConditionFailed

        if condition and (item["pk"], item["sk"]) in self.items:
            raise ConditionFailed("exists")
        self.items[(item["pk"], item["sk"])] = dict(item)

    def update(self, pk: str, sk: str, *, set: dict) -> dict:
        """The adapters' ledger only ever sets facts (providers/ledger.py note)."""
        item = self.items.setdefault((pk, sk), {"pk": pk, "sk": sk})
        item.update(set)
        return item


def _wechat_figures() -> dict[str, float]:
    from datetime import timedelta

    from chalicelib.clock import FixedClock, SystemClock
    from chalicelib.providers import wechat_params
    from chalicelib.providers.base import Line
    from chalicelib.providers.wechat import WechatProvider
    from tests.providers.fake_wechat import FakeWechat

    gw, clock = FakeWechat(), FixedClock(SystemClock().now())
    gw.now = lambda: int(clock.now().timestamp())
    settings = _settings_from(gw.env())
    provider = WechatProvider(SimpleNamespace(settings=settings, clock=clock, table=_MemoryTable()))
    sign_us = _median_ms(lambda: wechat_params.use_params("1900000001", "PKG", settings.wechat_apiv2_key, 1)) * 1000
    now = clock.now()
    freeze = provider.freeze("rt_bench", "rt_bench_freeze", "o-bench", 10_000, "bench", now + timedelta(days=9))
    clock.advance(60)  # the user confirms a minute later, and returns the item a day later
    gw.user_confirms(freeze.provider_params, "o-bench")
    clock.advance(86_400)
    before = len(gw.calls)
    provider.settle_freeze(
        "rt_bench_release",
        "rt_bench_freeze",
        "o-bench",
        [Line("rent", 700, "rent 1 day", "rt_bench_rent")],
        9_300,
        fulfilled=True,
    )
    settle = len(gw.calls) - before
    opened = provider.open_pay_later("ord_bench_pl", "o-bench", 500, "bench", now)
    clock.advance(60)
    gw.user_confirms(opened.provider_params, "o-bench")
    clock.advance(7 * 86_400)
    before = len(gw.calls)
    provider.charge("ord_bench_charge1", "o-bench", 500, "bench", agreement_ref=opened.provider_ref)
    charge = len(gw.calls) - before
    gw.stop()
    return {
        "wechat_use_params_sign_us": round(sign_us, 1),
        "wechat_settle_calls": settle,
        "wechat_charge_calls": charge,
        "wechat_fake_violations": len(gw.violations),
    }


def _settings_from(env: dict[str, str]):  # type: ignore[no-untyped-def]
    from chalicelib.config import Settings

    return Settings(**{k[len("CREDITFIRST_") :].lower(): v for k, v in env.items()})


def measure() -> dict[str, float]:
    return {**_verify_figures(), **_band_figures(), **_import_figures(), **_wechat_figures()}


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:42s} {value!s:>10}  {GOALS[key]}")
