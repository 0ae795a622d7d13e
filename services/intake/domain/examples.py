"""Worked request bodies in zh-CN and English, shown in the OpenAPI document and kept valid by tests."""

from typing import Any

#: Seed 003's own demand, "退款29元并赔偿10元延误损失": one demand in two parts.
REFUND_AND_DELAY_ZH = {
    "type": "refund_and_compensation",
    "refund": {"mode": "full"},
    "compensation": {"amount": {"amount_minor": 1000, "currency": "CNY"}, "basis": "delay"},
}

COMPLAINT_ZH: dict[str, Any] = {
    "complainant": {
        "id": "u-10086",
        "display_name": "张小明",
        "contact": {"phone": "13812345678"},
    },
    "platform": "kameng-example",
    "merchant": {"id": "m-2048", "name": "星辰点卡专营店"},
    "order": {
        "number": "KM202611200001",
        "item": "100元游戏点卡",
        "denomination": "100元",
        "quantity": 1,
        "amount": 9800,
        "currency": "CNY",
        "paid_at": "2026-11-20T21:15:00+08:00",
        "channel": "alipay",
        "transaction_id": "2026112022001400001234567890",
    },
    "description": {
        "what_happened": "11月20日21:15在平台购买100元点卡并支付98元，提取的卡密充值时提示“卡密已被使用”。"
        "联系客服后被要求等待，至今未处理。",
        "occurred_at": "2026-11-20T21:20:00+08:00",
    },
    "demand": {"type": "reissue", "count": 1},
}

COMPLAINT_EN: dict[str, Any] = {
    "complainant": {
        "id": "u-20931",
        "display_name": "Alex Chen",
        "contact": {"email": "alex@example.com"},
    },
    "platform": "keyshop-example",
    "merchant": {"id": "m-77", "name": "Pixel Keys"},
    "order": {
        "number": "KS-88410-2026",
        "item": "Office 2021 licence key",
        "quantity": 1,
        "amount": 2900,
        "currency": "USD",
        "paid_at": "2026-11-18T09:30:00Z",
        "channel": "paypal",
    },
    "category": "merchant-fraud",
    "description": {
        "what_happened": "The listing promised a genuine retail key; the delivered key is a pirated volume "
        "licence and the shop has disappeared.",
        "occurred_at": "2026-11-19T10:00:00Z",
    },
    "demand": {"type": "fraud_triple"},
}
