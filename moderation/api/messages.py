"""Localised problem titles and field messages (French by default, English, Arabic)."""
from __future__ import annotations

from flask import request

LANGUAGES = ("fr", "en", "ar")
DEFAULT_LANGUAGE = "fr"

# The site's form words, so an error can be shown to the reader as it is.
FIELD_LABELS = {
    "article_id": {"fr": "identifiant de l'article", "en": "article id", "ar": "معرّف المقال"},
    "author_name": {"fr": "nom", "en": "name", "ar": "الاسم"},
    "author_email": {"fr": "e-mail", "en": "email", "ar": "البريد الإلكتروني"},
    "content": {"fr": "commentaire", "en": "comment", "ar": "التعليق"},
    "article_url": {"fr": "adresse de l'article", "en": "article URL", "ar": "رابط المقال"},
    "article_title": {"fr": "titre de l'article", "en": "article title", "ar": "عنوان المقال"},
    "parent_id": {"fr": "commentaire parent", "en": "parent comment", "ar": "التعليق الأصلي"},
    "author_url": {"fr": "site web", "en": "website", "ar": "الموقع الإلكتروني"},
    "author_ip": {"fr": "adresse IP", "en": "IP address", "ar": "عنوان IP"},
    "author_user_agent": {"fr": "navigateur", "en": "user agent", "ar": "المتصفح"},
    "referrer": {"fr": "page d'origine", "en": "referrer", "ar": "الصفحة المُحيلة"},
    "language": {"fr": "langue", "en": "language", "ar": "اللغة"},
    "cursor": {"fr": "curseur", "en": "cursor", "ar": "المؤشر"},
    "limit": {"fr": "limite", "en": "limit", "ar": "الحد"},
    "Idempotency-Key": {"fr": "clé d'idempotence", "en": "idempotency key", "ar": "مفتاح عدم التكرار"},
    "_schema": {"fr": "requête", "en": "request", "ar": "الطلب"},
}

FIELD_MESSAGES = {
    "required": {
        "fr": "Le champ « {label} » est obligatoire.",
        "en": "The {label} field is required.",
        "ar": "حقل «{label}» إلزامي.",
    },
    "not_a_string": {
        "fr": "Le champ « {label} » doit être un texte.",
        "en": "The {label} field must be text.",
        "ar": "يجب أن يكون حقل «{label}» نصًا.",
    },
    "not_an_integer": {
        "fr": "Le champ « {label} » doit être un nombre entier positif.",
        "en": "The {label} field must be a positive whole number.",
        "ar": "يجب أن يكون حقل «{label}» عددًا صحيحًا موجبًا.",
    },
    "too_long": {
        "fr": "Le champ « {label} » ne doit pas dépasser {arg} caractères.",
        "en": "The {label} field must be at most {arg} characters long.",
        "ar": "يجب ألا يتجاوز حقل «{label}» {arg} حرفًا.",
    },
    "control_chars": {
        "fr": "Le champ « {label} » contient des caractères de contrôle interdits.",
        "en": "The {label} field contains forbidden control characters.",
        "ar": "يحتوي حقل «{label}» على محارف تحكم غير مسموح بها.",
    },
    "invalid_email": {
        "fr": "Veuillez saisir une adresse e-mail valide.",
        "en": "Please enter a valid email address.",
        "ar": "يرجى إدخال عنوان بريد إلكتروني صالح.",
    },
    "url_scheme": {
        "fr": "Le champ « {label} » doit être une adresse web commençant par http:// ou https://.",
        "en": "The {label} field must be a web address starting with http:// or https://.",
        "ar": "يجب أن يكون حقل «{label}» عنوانًا يبدأ بـ http:// أو https://.",
    },
    "invalid_ip": {
        "fr": "Le champ « {label} » n'est pas une adresse IP valide.",
        "en": "The {label} field is not a valid IP address.",
        "ar": "حقل «{label}» ليس عنوان IP صالحًا.",
    },
    "unknown_field": {
        "fr": "Champ inconnu : « {field} ».",
        "en": "Unknown field: {field}.",
        "ar": "حقل غير معروف: «{field}».",
    },
    "invalid_body": {
        "fr": "Le corps de la requête doit être un objet JSON.",
        "en": "The request body must be a JSON object.",
        "ar": "يجب أن يكون جسم الطلب كائن JSON.",
    },
    "invalid": {
        "fr": "Le champ « {label} » n'est pas valide.",
        "en": "The {label} field is not valid.",
        "ar": "حقل «{label}» غير صالح.",
    },
    "limit_range": {
        "fr": "Le champ « {label} » doit être compris entre 1 et {arg}.",
        "en": "The {label} field must be between 1 and {arg}.",
        "ar": "يجب أن تكون قيمة «{label}» بين 1 و{arg}.",
    },
}

TITLES = {
    "validation-error": ("Données invalides", "Invalid data", "بيانات غير صالحة"),
    "malformed-json": ("JSON mal formé", "Malformed JSON", "JSON غير سليم"),
    "unsupported-media-type": ("Type de contenu non pris en charge", "Unsupported content type", "نوع محتوى غير مدعوم"),
    "payload-too-large": ("Requête trop volumineuse", "Request too large", "الطلب كبير جدًا"),
    "unauthenticated": ("Clé d'API manquante ou invalide", "Missing or invalid API key", "مفتاح API مفقود أو غير صالح"),
    "not-found": ("Introuvable", "Not found", "غير موجود"),
    "method-not-allowed": ("Méthode non autorisée", "Method not allowed", "الطريقة غير مسموح بها"),
    "invalid-parent": ("Commentaire parent invalide", "Invalid parent comment", "التعليق الأصلي غير صالح"),
    "duplicate-comment": (
        "Commentaire en double : il semble que vous ayez déjà dit cela.",
        "Duplicate comment: it looks as though you have already said that.",
        "تعليق مكرر: يبدو أنك قلت هذا من قبل.",
    ),
    "flood": (
        "Vous publiez des commentaires trop rapidement. Ralentissez.",
        "You are posting comments too quickly. Slow down.",
        "أنت تنشر التعليقات بسرعة كبيرة. تمهّل.",
    ),
    "rate-limited": ("Trop de requêtes", "Too many requests", "طلبات كثيرة جدًا"),
    "idempotency-key-reused": (
        "Clé d'idempotence déjà utilisée avec une autre requête",
        "Idempotency key already used with a different request",
        "مفتاح عدم التكرار مستخدم مسبقًا مع طلب مختلف",
    ),
    "idempotency-key-in-flight": (
        "Une requête avec cette clé d'idempotence est déjà en cours",
        "A request with this idempotency key is still in progress",
        "طلب بهذا المفتاح قيد المعالجة",
    ),
    "invalid-transition": ("Changement de statut impossible", "Status change not allowed", "تغيير الحالة غير مسموح"),
    "conflict": ("Conflit", "Conflict", "تعارض"),
    "service-unavailable": (
        "Service momentanément indisponible, réessayez plus tard",
        "Service temporarily unavailable, try again later",
        "الخدمة غير متاحة مؤقتًا، حاول لاحقًا",
    ),
    "bad-request": ("Requête invalide", "Bad request", "طلب غير صالح"),
    "internal-error": ("Erreur interne", "Internal error", "خطأ داخلي"),
}


def request_language() -> str:
    try:
        return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
    except RuntimeError:  # outside a request
        return DEFAULT_LANGUAGE


def title(code: str, language: str) -> str:
    titles = TITLES.get(code) or TITLES["bad-request"]
    return titles[LANGUAGES.index(language)]


def field_message(field: str, message_code: str, language: str) -> tuple[str, str]:
    """Return (code, localised message) for a field error code like 'too_long|245'."""
    code, _, arg = message_code.partition("|")
    if code == "Unknown field.":
        code = "unknown_field"
    templates = FIELD_MESSAGES.get(code) or FIELD_MESSAGES["invalid"]
    if templates is FIELD_MESSAGES["invalid"]:
        code = "invalid"
    label = FIELD_LABELS.get(field, {}).get(language, field)
    return code, templates[language].format(label=label, arg=arg, field=field)
