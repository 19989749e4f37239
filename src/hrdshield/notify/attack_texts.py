"""What detection saw, in a few words per kind of attack, in every interface language.

These fill the ``{what}`` of the proactive alert (`templates.TemplateKey.PROACTIVE_ALERT`). They
name the kind of attack only, never an attacker, a text or a datum that leaked: an e-mail may be
read by whoever watches the defender's inbox, so it says what kind of thing happened and where to
read more, no more.
"""

# ruff: noqa: RUF001  (Cyrillic and Arabic letters are the point of multilingual text)

from __future__ import annotations

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "targeted_abuse": {
        "en": "threatening or abusive messages aimed at you",
        "es": "mensajes amenazantes u ofensivos dirigidos contra usted",
        "fr": "des messages menaçants ou injurieux qui vous visent",
        "ar": "رسائل تهديد أو إساءة موجّهة إليكم",
        "ru": "угрожающие или оскорбительные сообщения, направленные против Вас",
        "pt": "mensagens ameaçadoras ou ofensivas dirigidas contra a sua pessoa",
    },
    "doxxing": {
        "en": "messages that may expose your personal details",
        "es": "mensajes que podrían divulgar sus datos personales",
        "fr": "des messages susceptibles de divulguer vos données personnelles",
        "ar": "رسائل قد تكشف بياناتكم الشخصية",
        "ru": "сообщения, которые могут раскрывать Ваши личные данные",
        "pt": "mensagens que podem expor os seus dados pessoais",
    },
    "pile_on": {
        "en": "a sudden wave of replies and mentions from many accounts",
        "es": "una oleada repentina de respuestas y menciones de muchas cuentas",
        "fr": "une vague soudaine de réponses et de mentions venant de nombreux comptes",
        "ar": "موجة مفاجئة من الردود والإشارات من حسابات كثيرة",
        "ru": "внезапная волна ответов и упоминаний от множества аккаунтов",
        "pt": "uma vaga repentina de respostas e menções de muitas contas",
    },
    "smear_campaign": {
        "en": "many accounts posting the same accusations about you",
        "es": "muchas cuentas que publican las mismas acusaciones sobre usted",
        "fr": "de nombreux comptes qui publient les mêmes accusations à votre sujet",
        "ar": "حسابات كثيرة تنشر الاتهامات نفسها بحقكم",
        "ru": "множество аккаунтов публикуют одни и те же обвинения в Ваш адрес",
        "pt": "muitas contas a publicar as mesmas acusações sobre a sua pessoa",
    },
    "impersonation": {
        "en": "an account that looks like yours",
        "es": "una cuenta que se hace pasar por la suya",
        "fr": "un compte qui ressemble au vôtre",
        "ar": "حساب يشبه حسابكم",
        "ru": "аккаунт, похожий на Ваш",
        "pt": "uma conta que se parece com a sua",
    },
    "mass_reporting": {
        "en": "a wave of reports against your account or posts",
        "es": "una oleada de denuncias contra su cuenta o sus publicaciones",
        "fr": "une vague de signalements contre votre compte ou vos publications",
        "ar": "موجة من البلاغات ضد حسابكم أو منشوراتكم",
        "ru": "волна жалоб на Ваш аккаунт или публикации",
        "pt": "uma vaga de denúncias contra a sua conta ou as suas publicações",
    },
    "account_takeover": {
        "en": "unusual sign-ins to your account",
        "es": "inicios de sesión inusuales en su cuenta",
        "fr": "des connexions inhabituelles à votre compte",
        "ar": "عمليات تسجيل دخول غير معتادة إلى حسابكم",
        "ru": "необычные входы в Ваш аккаунт",
        "pt": "inícios de sessão invulgares na sua conta",
    },
    "malicious_link": {
        "en": "a message to you carrying a known spyware or phishing link",
        "es": "un mensaje dirigido a usted con un enlace conocido de software espía o phishing",
        "fr": "un message qui vous est adressé avec un lien connu d'espionnage ou d'hameçonnage",
        "ar": "رسالة موجّهة إليكم تحمل رابطًا معروفًا لبرمجية تجسس أو تصيّد",
        "ru": "сообщение Вам с известной ссылкой на шпионскую программу или фишинг",
        "pt": "uma mensagem para si com um link conhecido de software espião ou de phishing",
    },
    "shutdown": {
        "en": "a sudden drop in internet traffic from your region",
        "es": "una caída repentina del tráfico de internet desde su región",
        "fr": "une chute soudaine du trafic internet depuis votre région",
        "ar": "انخفاض مفاجئ في حركة الإنترنت من منطقتكم",
        "ru": "резкое падение интернет-трафика из Вашего региона",
        "pt": "uma queda repentina do tráfego de internet a partir da sua região",
    },
}


def describe(detector: str, language: str) -> str:
    """Return the few words saying what `detector` saw, in `language` (English if we lack it)."""
    texts = DESCRIPTIONS.get(detector, DESCRIPTIONS["targeted_abuse"])
    return texts.get(language, texts["en"])
