"""Amounts in uppercase Chinese (人民币大写), following the People's Bank rules for filling in
settlement documents (《正确填写票据和结算凭证的基本规定》):

- a zero between digits is written 零, and a run of zeros only once (¥6,007.14 → 陆仟零柒元壹角肆分);
- a section (万, 亿) of all zeros writes nothing; zeros across a section boundary write one 零
  (¥100,010,000 → 壹亿零壹万元整; ¥107,000.53 → 壹拾万零柒仟元伍角叁分);
- the rules allow 零 or not where the 元 digit is 0 but the 角 digit is not; we write it once only, before
  the first non-zero digit after a run of zeros, so ¥1,680.32 → 壹仟陆佰捌拾元叁角贰分;
- 角 zero and 分 not: 元零X分 (¥16,409.02 → 壹万陆仟肆佰零玖元零贰分);
- 拾 at the head is written 壹拾 (¥15 → 壹拾伍元整);
- 整 after 元 (and after 角, which the rules allow and which leaves no room to add 分); never after 分.
"""

from __future__ import annotations

from decimal import Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
POSITIONS = ("", "拾", "佰", "仟")
SECTIONS = ("", "万", "亿", "万亿")


def uppercase_rmb(amount: Decimal) -> str:
    if amount < 0:
        return "负" + uppercase_rmb(-amount)
    fen_total = int((amount * 100).to_integral_value())
    if Decimal(fen_total) != amount * 100:
        raise ValueError(f"{amount} has more than two decimals")
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if yuan >= 10 ** 16:
        raise ValueError(f"{amount} is too large")
    text = _integer(yuan) if yuan else ""
    if yuan:
        text += "元"
    if jiao == 0 and fen == 0:
        return (text or "零元") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif yuan:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    else:
        text += "整"
    return text


def _integer(number: int) -> str:
    digits = str(number)
    length = len(digits)
    out, pending_zero = [], False
    for index, char in enumerate(digits):
        place = length - 1 - index
        position, section = place % 4, place // 4
        digit = int(char)
        if digit == 0:
            pending_zero = bool(out)
        else:
            if pending_zero:
                out.append("零")
            pending_zero = False
            out.append(DIGITS[digit] + POSITIONS[position])
        if position == 0 and section > 0:
            section_digits = digits[max(0, index - 3):index + 1]
            if int(section_digits):
                out.append(SECTIONS[section])
    return "".join(out)
