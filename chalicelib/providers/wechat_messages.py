"""WeChat mini-program subscribe messages (the member-day reminder), on the mini-program's server API
(api.weixin.qq.com, not the Pay gateway): an access_token, then subscribeMessage.send.

References (every field below):
- getAccessToken: GET /cgi-bin/token?grant_type=client_credential&appid=APPID&secret=APPSECRET ->
  {"access_token", "expires_in"} or {"errcode", "errmsg"}; a new token invalidates the previous one, so it is
  kept (developers.weixin.qq.com/miniprogram/dev/api-backend/auth/auth.getAccessToken.html, mirrored in
  wdk-docs/wxadev-docs docs/_sources/api-backend/auth/auth.getAccessToken.rst.txt).
- subscribeMessage.send: POST /cgi-bin/message/subscribe/send?access_token=TOKEN with JSON touser (openid),
  template_id, page, data {"<keyword>": {"value"}}, miniprogram_state (developer|trial|formal), lang (zh_CN ...)
  -> {"errcode": 0, "errmsg": "ok", "msgid"}; 43101: the user has not subscribed (refused)
  (developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-message-management/subscribe-message/sendMessage.html;
  medivhzhan/weapp subscribe_message.go SubscribeMessage fields).
The template's keywords are the operator's (configured with the template id): thing1 = the title,
date2 = the credit day, as CREDITFIRST_WECHAT_REMINDER_TEMPLATE's keywords must be chosen.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import urlencode

from ..clock import iso, parse_iso
from ..domain.errors import ProviderError
from ..domain.reminders import Reminder
from .base import OpResult

TOKEN_KEY = ("PROV#wechat#access_token", "TOKEN")
# WeChat's global return codes (公众平台 全局返回码, as the getAccessToken page's "access_token 超时" note points
# to; quoted in community clients such as canlanri/weixin common/wechat_error.go): 40001 invalid credential,
# 42001 access_token expired -> fetch a new token once. The official list itself was not reachable here.
TOKEN_INVALID = (40001, 42001)
NOT_SUBSCRIBED = 43101
TOKEN_MARGIN = timedelta(minutes=5)


class SubscribeMessages:
    def __init__(self, deps: Any, send: Callable[..., Any]) -> None:
        self.deps, self._send = deps, send

    @property
    def _gateway(self) -> str:
        return self.deps.settings.wechat_login_gateway.rstrip("/")

    def _get(self, path: str, query: dict) -> dict:
        resp = self._send("GET", f"{self._gateway}{path}?{urlencode(query)}", None, {"Accept": "application/json"})
        return json.loads(resp.body or b"{}") if resp.status == 200 else {"errcode": -1, "errmsg": str(resp.status)}

    def access_token(self, now: datetime, fresh: bool = False) -> str:
        """The kept token while it lives (less a margin), else a new one (kept for the next caller)."""
        table = self.deps.table
        kept = None if fresh else table.get(*TOKEN_KEY)
        if kept and parse_iso(kept["expires_at"]) - TOKEN_MARGIN > now:
            return str(kept["token"])
        settings = self.deps.settings
        answer = self._get(
            "/cgi-bin/token",
            {"grant_type": "client_credential", "appid": settings.wechat_appid, "secret": settings.wechat_app_secret},
        )
        if not answer.get("access_token"):
            raise ProviderError(f"wechat access_token refused ({answer.get('errcode')})")
        expires = now + timedelta(seconds=int(answer.get("expires_in", 7200)))
        table.put(
            {
                "pk": TOKEN_KEY[0],
                "sk": TOKEN_KEY[1],
                "token": answer["access_token"],
                "expires_at": iso(expires),
                "ttl": int(expires.timestamp()),
            }
        )
        return str(answer["access_token"])

    def send(self, openid: str, reminder: Reminder, template_id: str, state: str) -> OpResult:
        body = {
            "touser": openid,
            "template_id": template_id,
            "page": reminder.page,
            "data": {
                "thing1": {"value": reminder.title[:20]},  # thing.DATA: at most 20 characters
                "date2": {"value": reminder.credit_date.isoformat()},
            },
            "miniprogram_state": state,
            "lang": "zh_CN",
        }
        raw = json.dumps(body, ensure_ascii=False).encode()
        now = self.deps.clock.now()
        for fresh in (False, True):
            token = self.access_token(now, fresh)
            resp = self._send(
                "POST",
                f"{self._gateway}/cgi-bin/message/subscribe/send?{urlencode({'access_token': token})}",
                raw,
                {"Content-Type": "application/json", "Accept": "application/json"},
            )
            answer = json.loads(resp.body or b"{}") if resp.status == 200 else {"errcode": -1}
            code = int(answer.get("errcode", -1))
            if code == 0:
                return OpResult("succeeded", provider_ref=str(answer.get("msgid", "")) or None)
            if code not in TOKEN_INVALID:
                break
        if code == NOT_SUBSCRIBED:
            return OpResult("failed", reason="not_subscribed")
        return OpResult("failed", reason=f"wechat_{code}")
