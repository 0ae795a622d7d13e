"""Findings: what outside parties (the card issuer, the payment channel) said of a complaint."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from .requirements import ChannelFacts


class Finding(BaseModel):
    """A fact an agent weighs, in both languages; `evidence` is the item it concerns, if any."""

    model_config = ConfigDict(frozen=True)

    code: str
    evidence: int | None = None
    en: str
    zh: str

    @property
    def tag(self) -> str:
        """Its short form in events: 证据N:code, or channel:code."""
        return f"证据{self.evidence}:{self.code}" if self.evidence else f"channel:{self.code}"


def _card_key(number: int, status: str, last4: str | None) -> Finding | None:
    key = f"****{last4}" if last4 else "the card key"
    key_zh = f"卡密****{last4}" if last4 else "该卡密"
    if status == "used":
        return Finding(code="card_key_used", evidence=number,
                       en=f"The issuer reports {key} as already used: the key did not work "
                          "when the buyer got it.",
                       zh=f"发卡方确认{key_zh}已被使用：买家收到时该卡密已失效。")
    if status == "valid":
        # The key still works: the buyer's own error (wrong account or game server) is possible.
        return Finding(code="card_key_valid", evidence=number,
                       en=f"The issuer reports {key} as valid and unused: check where it was "
                          "entered (account, game server) before deciding.",
                       zh=f"发卡方显示{key_zh}有效且未使用：请先核实充值账号或游戏区服是否填写正确。")
    if status == "unknown":
        return Finding(code="card_key_unknown", evidence=number,
                       en=f"The issuer does not know {key}: it may never have been a real key.",
                       zh=f"发卡方查无{key_zh}：可能不是真实发行的卡密。")
    return None


def _channel(facts: ChannelFacts) -> Finding:
    status = facts.record_status
    told = {"paid": ("shows the money taken", "显示已扣款"),
            "refunded": ("shows the money taken and refunded", "显示已扣款并已退款"),
            "closed": ("shows the transaction closed", "显示交易已关闭"),
            "failed": ("shows the payment failed: no money was taken", "显示支付失败，未扣款"),
            "pending": ("shows the payment still pending", "显示支付仍在处理中")}
    en, zh = told.get(status, (f"shows status {status}", f"状态为 {status}"))
    return Finding(code=f"channel_record_{status}",
                   en=f"The payment channel's own record ({facts.source}, transaction "
                      f"{facts.transaction_id}) {en}.",
                   zh=f"支付渠道（{facts.source}）自己的交易记录（交易号 {facts.transaction_id}）{zh}。")


def findings_of(*, channel: ChannelFacts | None,
                checked: Sequence[tuple[int, str, str | None]]) -> list[Finding]:
    """The channel's record of the order and each card key the issuer was asked about."""
    found = [_channel(channel)] if channel is not None else []
    for number, status, last4 in checked:
        finding = _card_key(number, status, last4)
        if finding is not None:
            found.append(finding)
    return found
