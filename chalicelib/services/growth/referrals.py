"""Referral (老带新): codes, binding, the reward trigger, the 7-day hold and the reward.

Items: the code (REFCODE#<code> -> its owner; written when the owner first asks for it), the referee's
referral (REFERRAL#<referee>: the referrer, its status, the `due` timer of the hold; listed under the
referrer as member#<referrer>#referral), the referrer's monthly count (REFCAP#<referrer> / <YYYY-MM>) and
the programme's spend (REFBUDGET / BUDGET), both guarded ADDs in the reward's own transaction, so caps and
budget hold under concurrency. Rewards are coupons from the coupon machinery (deterministic ids: a
repeated grant is refused by the store).

Triggers come from domain events (jobs/reactions.py, fed by the outbox): the referee's first pay-later
order charged or first rental closed returned on time starts the hold; a refund or a default of the
referee inside the hold voids it. Self-referral (the referrer's device or provider account) goes to
review at the end of the hold and earns nothing unless approved.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ...clock import iso, parse_iso
from ...domain import referrals as rules
from ...domain.errors import DomainError, InvalidState, NotFound
from ...log import logger
from ...ports import Deps
from ...store.guards import expect
from ...store.schema import shard_of
from ...store.uow import Retry, UnitOfWork
from ..marketing import coupons
from ..members import members
from ..members.members import member_key
from ..risk import reviews
from . import stats

R = rules.ReferralStatus
QUEUE = "referral-timers"
TIMER_KIND = "referral"
BUDGET_KEY = ("REFBUDGET", "BUDGET")


class CapReached(DomainError):
    code = "cap"


class BudgetSpent(DomainError):
    code = "budget"


def code_key(code: str) -> tuple[str, str]:
    return f"REFCODE#{code}", "REFCODE"


def referral_key(referee_id: str) -> tuple[str, str]:
    return f"REFERRAL#{referee_id}", "REFERRAL"


def cap_key(referrer_id: str, month: str) -> tuple[str, str]:
    return f"REFCAP#{referrer_id}", month


def _code_of(deps: Deps, member_id: str) -> str:
    return rules.code_for(deps.settings.session_secret, member_id)


def view(deps: Deps, member_id: str) -> dict:
    """GET /v1/me/referral: the code (recorded on first sight), who referred me, whom I invited."""
    code = _code_of(deps, member_id)
    found = deps.table.batch_get([code_key(code), referral_key(member_id)])
    if code_key(code) not in found:
        uow = UnitOfWork(deps.table, deps.clock.now(), member_id)
        uow.put(
            {"pk": code_key(code)[0], "sk": "REFCODE", "type": "referral_code", "member_id": member_id},
            condition="attribute_not_exists(pk) OR member_id = :m",
            values={":m": member_id},
        )
        uow.commit()
    mine = found.get(referral_key(member_id))
    invited = list(deps.table.query("list_pk = :p", {":p": f"member#{member_id}#referral"}, index="list"))
    rewards = [_reward_view(i) for i in invited if i["status"] != R.BOUND]
    return {
        "code": code,
        "referred_by": mine["referrer_id"] if mine else None,
        "invited": len(invited),
        "rewards": rewards,
    }


def _reward_view(item: dict) -> dict:
    out = {"member_id": item["referee_id"], "status": item["status"]}
    if item.get("coupon_id"):
        out["coupon_id"] = item["coupon_id"]
    return out


# -- binding -----------------------------------------------------------------------------------------


def bind(deps: Deps, uow: UnitOfWork, member_id: str, raw_code: str, device_id: str | None) -> dict:
    """Bind the member to the code's owner: 404 unknown code, 409 own_code / already_bound / too_late."""
    code = rules.normalize_code(raw_code)
    owner = deps.table.get(*code_key(code)) if code else None
    if not owner:
        raise NotFound("no such referral code", "code")
    referrer_id = owner["member_id"]
    if referrer_id == member_id:
        raise InvalidState("that is your own code", "code", code="own_code")
    keys = [member_key(member_id), member_key(referrer_id), referral_key(member_id)]
    if device_id:
        keys.append((f"DEVICE#{device_id}", "DEVICE"))
    found = deps.table.batch_get(keys)
    me, referrer = found.get(member_key(member_id)), found.get(member_key(referrer_id))
    if not me or not referrer:
        raise NotFound("no such referral code", "code")
    if found.get(referral_key(member_id)):
        raise InvalidState("you are already bound to a referrer", "code", code="already_bound")
    orders_so_far = int(me.get("order_count", 0))
    if rules.too_late(parse_iso(me["created_at"]), uow.now, orders_so_far):
        raise InvalidState(
            "referral codes are for new members (30 days, before a first order)", "code", code="too_late"
        )
    device = found.get((f"DEVICE#{device_id}", "DEVICE")) if device_id else None
    self_referral = _same_person(me, referrer, device, device_id)
    at, band = iso(uow.now), members.band(me, uow.now)
    uow.put(
        {
            "pk": referral_key(member_id)[0],
            "sk": "REFERRAL",
            "type": "referral",
            "referee_id": member_id,
            "band": band,
            "referrer_id": referrer_id,
            "code": code,
            "status": str(R.BOUND),
            "bound_at": at,
            "self_referral": self_referral,
            "list_pk": f"member#{referrer_id}#referral",
            "list_sk": f"{at}#{member_id}",
        },
        condition="attribute_not_exists(pk)",
        on_fail=InvalidState("you are already bound to a referrer", "code", code="already_bound"),
    )
    # the first order may not slip in between: it raises order_count, which this guard reads
    uow.update(
        *member_key(member_id),
        set={"referred_by": referrer_id},
        condition="attribute_not_exists(order_count) OR order_count = :z",
        values={":z": 0},
        on_fail=InvalidState("referral codes are for new members", "code", code="too_late"),
    )
    stats.stage_referral(uow, uow.now.strftime("%Y-%m-%d"), band, bound=1)
    uow.audit(
        f"referral#{member_id}",
        "bound",
        after={"status": "bound", "referrer_id": referrer_id},
        data={"self_referral": self_referral},
        event="referral.bound",
    )
    return {"code": code, "referred_by": referrer_id, "status": "bound"}


def _same_person(me: dict, referrer: dict, device: dict | None, device_id: str | None) -> bool:
    """Self-referral: the referrer's device fingerprint or provider account."""
    if referrer.get("provider_user_id") == me.get("provider_user_id"):
        return True
    if device and referrer["member_id"] in device.get("members", set()):
        return True
    devices = {me.get("last_device"), device_id} - {None}
    return bool(referrer.get("last_device")) and referrer.get("last_device") in devices


def bind_at_sign_in(deps: Deps, member_id: str, raw_code: str, device_id: str | None) -> None:
    """A `referral_code` given with a sign-in: bound when it can be; a bad or late code never fails the
    sign-in itself (the member can still bind later with POST /v1/me/referral)."""
    for _ in range(3):
        uow = UnitOfWork(deps.table, deps.clock.now(), member_id, deps.queues.send)
        try:
            bind(deps, uow, member_id, raw_code, device_id)
            uow.commit()
            return
        except Retry:
            continue
        except DomainError as exc:
            logger.info("referral code at sign-in not bound", extra={"member_id": member_id, "reason": exc.code})
            return


# -- triggers (domain events) --------------------------------------------------------------------------


def on_first_success(deps: Deps, referee_id: str, at: datetime, source: str) -> None:
    """The referee's first charged pay-later order or on-time rental: the hold starts (once)."""
    item = deps.table.get(*referral_key(referee_id))
    if not item or item["status"] != R.BOUND:
        return
    hold_until = at + rules.HOLD
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    uow.update(
        *referral_key(referee_id),
        set={
            "status": str(rules.transition(item["status"], R.PENDING)),
            "triggered_at": iso(at),
            "trigger": source,
            "hold_until": iso(hold_until),
            "due_pk": f"timer#{TIMER_KIND}#{shard_of(referee_id)}",
            "due_at": iso(hold_until),
        },
        **expect({"status": R.BOUND}, on_fail=Retry),
    )
    uow.audit(
        f"referral#{referee_id}",
        "pending",
        before={"status": "bound"},
        after={"status": "pending", "hold_until": iso(hold_until)},
        data={"trigger": source},
        event="referral.pending",
    )
    _commit_quietly(uow)


def on_refund_or_default(deps: Deps, referee_id: str, at: datetime, source: str) -> None:
    """A refund or default of the referee inside the hold voids the reward."""
    item = deps.table.get(*referral_key(referee_id))
    if not item or item["status"] != R.PENDING or at > parse_iso(item["hold_until"]):
        return
    uow = UnitOfWork(deps.table, deps.clock.now(), "system", deps.queues.send)
    _stage_void(uow, item, source)
    _commit_quietly(uow)


def _stage_void(uow: UnitOfWork, item: dict, reason: str) -> None:
    status = rules.transition(item["status"], R.VOID)
    uow.update(
        *referral_key(item["referee_id"]),
        set={"status": str(status), "void_reason": reason, "closed_at": iso(uow.now)},
        remove=["due_pk", "due_at"],
        **expect({"status": item["status"]}, on_fail=Retry),
    )
    uow.audit(
        f"referral#{item['referee_id']}",
        "void",
        before={"status": item["status"]},
        after={"status": "void", "reason": reason},
        event="referral.void",
    )


def _commit_quietly(uow: UnitOfWork) -> None:
    try:
        uow.commit()
    except Retry:
        logger.info("referral changed meanwhile; nothing to do")


# -- the hold's end (referral-timers worker) and the review resolver ---------------------------------


def on_timer(deps: Deps, pk: str, sk: str) -> str:
    item = deps.table.get(pk, sk)
    now = deps.clock.now()
    if not item or item["status"] != R.PENDING or parse_iso(item["hold_until"]) > now:
        return "nothing_to_do"
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    if item.get("self_referral"):
        uow.update(
            pk,
            sk,
            set={"status": str(rules.transition(item["status"], R.REVIEW))},
            remove=["due_pk", "due_at"],
            **expect({"status": R.PENDING}, on_fail=Retry),
        )
        reviews.stage_open(
            uow,
            "referral",
            item["referee_id"],
            item["referee_id"],
            rules.SELF_REFERRAL_RULE,
            evidence={"referrer_id": item["referrer_id"]},
        )
        uow.audit(
            f"referral#{item['referee_id']}",
            "review",
            before={"status": "pending"},
            after={"status": "review"},
            event="referral.review",
        )
        _commit_quietly(uow)
        return "review"
    return grant(deps, item, now)


def grant(deps: Deps, item: dict, now: datetime) -> str:
    """Both coupons, inside the referrer's monthly cap and the programme's budget, in one transaction."""
    uow = UnitOfWork(deps.table, now, "system", deps.queues.send)
    month = now.strftime("%Y-%m")
    referrer, referee = item["referrer_id"], item["referee_id"]
    mine_id = coupons.coupon_id("referral", referee, "referrer")
    theirs_id = coupons.coupon_id("referral", referee, "referee")
    earned = rules.transition(item["status"], R.EARNED)
    uow.update(
        *referral_key(referee),
        set={"status": str(earned), "coupon_id": mine_id, "referee_coupon_id": theirs_id, "closed_at": iso(now)},
        remove=["due_pk", "due_at"],
        **expect({"status": item["status"]}, on_fail=Retry),
    )
    uow.update(
        *cap_key(referrer, month),
        add={"count": 1},
        condition="attribute_not_exists(#c) OR #c < :cap",
        names={"#c": "count"},
        values={":cap": rules.MONTHLY_CAP},
        on_fail=CapReached("monthly cap reached"),
    )
    cost = rules.reward_cost()
    uow.update(
        *BUDGET_KEY,
        add={"spent": cost},
        condition="attribute_not_exists(spent) OR spent <= :maxb",
        values={":maxb": rules.PROGRAMME_BUDGET - cost},
        on_fail=BudgetSpent("programme budget spent"),
    )
    until = now + timedelta(days=rules.REWARD_VALID_DAYS)
    mine = coupons.coupon_item(mine_id, referrer, "referral", rules.REFERRER_REWARD, 0, now, until, referral_of=referee)
    theirs = coupons.coupon_item(
        theirs_id, referee, "referral", rules.REFEREE_REWARD, 0, now, until, referral_of=referee
    )
    coupons.stage_issue(uow, mine, retry_on_exists=False)
    coupons.stage_issue(uow, theirs, retry_on_exists=False)
    stats.stage_referral(uow, now.strftime("%Y-%m-%d"), item.get("band"), earned=1, paid=cost)
    uow.audit(
        f"referral#{referee}",
        "earned",
        before={"status": item["status"]},
        after={"status": "earned", "coupon_id": mine_id},
        event="referral.earned",
    )
    try:
        uow.commit()
    except (CapReached, BudgetSpent) as exc:
        void = UnitOfWork(deps.table, now, "system", deps.queues.send)
        _stage_void(void, item, exc.code)
        _commit_quietly(void)
        return "void"
    except Retry:
        return "nothing_to_do"
    return "earned"


def resolve(deps: Deps, uow: UnitOfWork, review: dict, approved: bool) -> None:
    """An operator's answer on a self-referral: approved earns the reward, rejected voids it."""
    item = deps.table.get(*referral_key(review["ref_id"]))
    if not item or item["status"] != R.REVIEW:
        return
    if approved:
        uow.after_commit(lambda: grant(deps, item, uow.now))
    else:
        _stage_void(uow, item, "review_rejected")


def member_of(deps: Deps, entity_id: str) -> dict | None:
    """The order or rental an event names (entity_id "order#<id>" / "rental#<id>")."""
    kind, _, oid = entity_id.partition("#")
    keys = {"order": (f"ORDER#{oid}", "ORDER"), "rental": (f"RENTAL#{oid}", "RENTAL")}
    return deps.table.get(*keys[kind]) if kind in keys else None
