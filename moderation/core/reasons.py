"""Reason codes for rejections, and the text an author is shown for each, in the site's language."""
from __future__ import annotations

REJECTION_REASONS = ("spam", "insult", "hate", "threat", "off_topic", "personal_data", "duplicate", "other")
# Only these say something about abuse; the rest are editorial choices (used by learning).
ABUSE_REASONS = frozenset({"insult", "hate", "threat"})

AUTHOR_TEXT = {
    "spam": {
        "fr": "Votre commentaire n'a pas été publié car il a été considéré comme du spam ou de la publicité.",
        "en": "Your comment was not published because it was considered spam or advertising.",
        "ar": "لم يُنشر تعليقك لأنه اعتُبر رسالة مزعجة أو إعلانًا.",
    },
    "insult": {
        "fr": "Votre commentaire n'a pas été publié car il contient des insultes ou du harcèlement.",
        "en": "Your comment was not published because it contains insults or harassment.",
        "ar": "لم يُنشر تعليقك لأنه يتضمن شتائم أو تحرشًا.",
    },
    "hate": {
        "fr": "Votre commentaire n'a pas été publié car il contient des propos haineux.",
        "en": "Your comment was not published because it contains hateful speech.",
        "ar": "لم يُنشر تعليقك لأنه يتضمن خطاب كراهية.",
    },
    "threat": {
        "fr": "Votre commentaire n'a pas été publié car il contient des menaces.",
        "en": "Your comment was not published because it contains threats.",
        "ar": "لم يُنشر تعليقك لأنه يتضمن تهديدات.",
    },
    "off_topic": {
        "fr": "Votre commentaire n'a pas été publié car il est hors sujet.",
        "en": "Your comment was not published because it is off topic.",
        "ar": "لم يُنشر تعليقك لأنه خارج موضوع المقال.",
    },
    "personal_data": {
        "fr": "Votre commentaire n'a pas été publié car il contient des données personnelles.",
        "en": "Your comment was not published because it contains personal data.",
        "ar": "لم يُنشر تعليقك لأنه يتضمن بيانات شخصية.",
    },
    "duplicate": {
        "fr": "Votre commentaire n'a pas été publié car il fait doublon avec un autre commentaire.",
        "en": "Your comment was not published because it duplicates another comment.",
        "ar": "لم يُنشر تعليقك لأنه مكرر.",
    },
    "other": {
        "fr": "Votre commentaire n'a pas été publié car il ne respecte pas notre charte de modération.",
        "en": "Your comment was not published because it does not follow our moderation guidelines.",
        "ar": "لم يُنشر تعليقك لأنه لا يحترم ميثاق الإشراف.",
    },
}


def author_text(reason: str, language: str) -> str:
    texts = AUTHOR_TEXT.get(reason) or AUTHOR_TEXT["other"]
    return texts.get(language) or texts["fr"]
