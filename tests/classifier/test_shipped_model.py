"""The committed model in models/: loads fast, verified, and separates obvious HAND-WRITTEN cases.

Every sentence below was written by the team for this test. They are deliberately obvious: the
test guards against a broken or mis-wired artifact, it is not an evaluation (see the model card
for the leave-one-source-out figures).
"""

import json
import time

import pytest
from sklearn.metrics import roc_auc_score

from moderation.classifier import load_model
from moderation.classifier.artifacts import artifact_paths, read_current

from .conftest import SHIPPED_MODELS

OBVIOUS = {
    "spam": {
        "fr": (
            ["Gagnez 1000 euros par semaine sans travailler, inscrivez-vous sur www.argent-facile.com",
             "Crédit rapide sans justificatif, appelez le 06 11 22 33 44 ou écrivez sur WhatsApp",
             "Achetez des followers pas chers, promo -50% aujourd'hui seulement, cliquez sur le lien"],
            ["Je ne partage pas l'avis de l'éditorialiste sur la réforme de l'enseignement",
             "Le stade sera-t-il prêt pour la Coupe d'Afrique ? Les travaux semblent en retard",
             "Mes condoléances à la famille du journaliste, un grand professionnel"]),
        "en": (
            ["Make $500 a day from home!!! Click here http://bit.ly/easy-cash and sign up free",
             "Congratulations you won a free iPhone, claim your prize now at www.prize-claim.net",
             "Check out my channel and subscribe, I post crypto trading tips daily, dm me on whatsapp"],
            ["I disagree with the columnist, the unemployment figures tell a different story",
             "Will the stadium be ready for the tournament? The works look late",
             "My condolences to the family of the reporter, a great professional"]),
        "ar": (
            ["اربح المال من المنزل بسهولة، سجل الآن عبر الرابط وتواصل معنا على الواتساب",
             "عرض خاص لفترة محدودة خصم كبير على جميع المنتجات اطلب الآن والتوصيل مجاني",
             "لزيادة المتابعين والإعجابات بأسعار رخيصة تواصل معنا على الرقم 0551234567"],
            ["لا أتفق مع كاتب المقال في تحليله لأسباب البطالة",
             "هل سيكون الملعب جاهزا قبل انطلاق البطولة؟ الأشغال متأخرة",
             "تعازينا لعائلة الصحفي الراحل، كان مهنيا كبيرا"]),
        "ary": (
            ["bghiti terbe7 lflous mn darek? tsaweb m3aya f whatsapp 0661234567 daba",
             "promo kbira lyoum, tawsil fabor, dkhol l site www.promo-maroc.ma w commandi",
             "ربح الفلوس من الدار ساهل بزاف، دخل للرابط و سجل دابا و تواصل معايا فالواتساب"],
            ["ana machi mtafe9 m3a had l maqal, lkhedma f lmghrib s3iba bzaf",
             "wach lmal3ab ghadi ykoun wajed f lwe9t? lkhedma m3attla",
             "الله يرحمو و يصبر عائلتو، كان صحفي مزيان"]),
    },
    "abuse": {
        "fr": (
            ["Ferme ta gueule sale connard, t'es qu'une merde",
             "Espèce de grosse pute, va crever",
             "Bande de bâtards, je vais vous défoncer"],
            ["Je ne partage pas l'avis de l'éditorialiste sur la réforme de l'enseignement",
             "Le stade sera-t-il prêt pour la Coupe d'Afrique ? Les travaux semblent en retard",
             "Mes condoléances à la famille du journaliste, un grand professionnel"]),
        "en": (
            ["Shut up you fucking idiot, nobody cares about your stupid opinion",
             "You are a worthless piece of shit, go kill yourself",
             "What a dumb bitch, get lost"],
            ["I disagree with the columnist, the unemployment figures tell a different story",
             "Will the stadium be ready for the tournament? The works look late",
             "My condolences to the family of the reporter, a great professional"]),
        "ar": (
            ["اسكت يا حمار يا ابن الكلب",
             "انت واحد حقير وتافه وغبي",
             "الله يلعنك يا وسخ يا قذر"],
            ["لا أتفق مع كاتب المقال في تحليله لأسباب البطالة",
             "هل سيكون الملعب جاهزا قبل انطلاق البطولة؟ الأشغال متأخرة",
             "تعازينا لعائلة الصحفي الراحل، كان مهنيا كبيرا"]),
        "ary": (
            ["sir t9awed a l7mar, nta ghir zamel",
             "الله ينعل بوك يا الحمار يا الزامل",
             "wa dak lkelb, ta7an mn rassek"],
            ["ana machi mtafe9 m3a had l maqal, lkhedma f lmghrib s3iba bzaf",
             "wach lmal3ab ghadi ykoun wajed f lwe9t? lkhedma m3attla",
             "الله يرحمو و يصبر عائلتو، كان صحفي مزيان"]),
    },
}


@pytest.fixture(scope="module")
def shipped():
    return load_model(SHIPPED_MODELS)


def test_shipped_model_loads_verified_and_quickly():
    t0 = time.perf_counter()
    model = load_model(SHIPPED_MODELS)
    assert time.perf_counter() - t0 < 3.0
    version = read_current(SHIPPED_MODELS)
    assert model.version == version
    paths = artifact_paths(SHIPPED_MODELS, version)
    total = sum(p.stat().st_size for p in SHIPPED_MODELS.iterdir() if p.is_file())
    assert total < 50 * 1024 * 1024
    meta = json.loads(paths["json"].read_text())
    assert meta["evaluation"] == "leave-one-source-out"
    assert paths["card"].is_file() and paths["roc"].is_file()


def test_shipped_thresholds_have_the_documented_shape(shipped):
    for head in ("spam", "abuse"):
        t = shipped.thresholds[head]
        assert set(t) == {"flag", "auto_spam", "auto_approve"}
        assert 0.0 < t["auto_approve"] < t["flag"] <= t["auto_spam"] <= 1.0


@pytest.mark.parametrize("head", ["spam", "abuse"])
@pytest.mark.parametrize("lang", ["fr", "en", "ar", "ary"])
def test_shipped_model_separates_obvious_cases(shipped, head, lang):
    positives, negatives = OBVIOUS[head][lang]
    scores = [getattr(shipped.score(t), head) for t in positives + negatives]
    labels = [1] * len(positives) + [0] * len(negatives)
    # Every obvious positive ranks above every obvious negative of the same language.
    assert roc_auc_score(labels, scores) == 1.0, list(zip(labels, [round(s, 3) for s in scores]))
