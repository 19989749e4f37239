"""Texts of the notifications sent to defenders and staff, in every interface language, formal.

E-mail and webhooks leave our encryption and may be read by whoever watches the defender's inbox,
so a message only says that something happened, gives the case reference and sends the reader to
the portal: it must never carry a report's narrative, an attacker's words or a reviewer's question.
Each text names its placeholders in braces; every language uses the same ones as English.
"""

# ruff: noqa: RUF001  (Cyrillic letters are the point of the Russian texts)

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import NamedTuple

from hrdshield.notify.enums import TemplateKey

DEFAULT_LANGUAGE = "en"


class Text(NamedTuple):
    """The subject line and body of one message in one language."""

    subject: str
    body: str


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to send, in the language actually used."""

    language: str
    subject: str
    body: str


class TemplateError(Exception):
    """The context does not fill the template (a missing or unexpected placeholder)."""


FOOTERS: dict[str, str] = {
    "en": (
        "This message was sent automatically by HRD Shield; please do not reply to it. "
        "If you did not expect it, or if you think that someone else can read your messages, "
        "please contact the organisation that supports you."
    ),
    "es": (
        "HRD Shield ha enviado este mensaje de forma automática; le rogamos que no lo responda. "
        "Si no lo esperaba, o si cree que otra persona puede leer sus mensajes, le rogamos que "
        "se ponga en contacto con la organización que le presta apoyo."
    ),
    "fr": (
        "Ce message a été envoyé automatiquement par HRD Shield\u202f; merci de ne pas y "
        "répondre. Si vous ne l'attendiez pas, ou si vous pensez qu'une autre personne peut lire "
        "vos messages, nous vous prions de contacter l'organisation qui vous accompagne."
    ),
    "ar": (
        "أُرسلت هذه الرسالة تلقائيًا من HRD Shield، لذا نرجو عدم الرد عليها. "
        "إذا لم تكونوا تتوقعونها، أو إذا كنتم تعتقدون أن شخصًا آخر يستطيع قراءة رسائلكم، "
        "فنرجو التواصل مع المنظمة التي تقدم لكم الدعم."
    ),
    "ru": (
        "Это сообщение отправлено сервисом HRD Shield автоматически; пожалуйста, не отвечайте "
        "на него. Если Вы его не ожидали или считаете, что Ваши сообщения может читать кто-то "
        "другой, пожалуйста, свяжитесь с организацией, которая Вас поддерживает."
    ),
    "pt": (
        "Esta mensagem foi enviada automaticamente pelo HRD Shield; pedimos que não responda. "
        "Se não a esperava, ou se pensa que outra pessoa pode ler as suas mensagens, pedimos "
        "que fale com a organização que lhe presta apoio."
    ),
}

TEMPLATES: dict[TemplateKey, dict[str, Text]] = {
    TemplateKey.RECEIPT: {
        "en": Text(
            "We have received your report {reference}",
            "We have received your report. Its reference is {reference}; please keep it in "
            "order to follow the progress of your report.\n\n"
            "A member of our team will review it. We will write to you again as soon as there "
            "is news.",
        ),
        "es": Text(
            "Hemos recibido su denuncia {reference}",
            "Hemos recibido su denuncia. Su referencia es {reference}; le rogamos que la "
            "conserve para consultar el estado de su denuncia.\n\n"
            "Un miembro de nuestro equipo la examinará. Volveremos a escribirle en cuanto haya "
            "novedades.",
        ),
        "fr": Text(
            "Nous avons bien reçu votre signalement {reference}",
            "Nous avons bien reçu votre signalement. Sa référence est {reference}\u202f; nous "
            "vous invitons à la conserver afin de suivre l'avancement de votre signalement.\n\n"
            "Un membre de notre équipe va l'examiner. Nous vous écrirons de nouveau dès que "
            "nous aurons du nouveau.",
        ),
        "ar": Text(
            "لقد استلمنا بلاغكم {reference}",
            "لقد استلمنا بلاغكم. الرقم المرجعي للبلاغ هو {reference}، ونرجو الاحتفاظ به "
            "لمتابعة سير البلاغ.\n\n"
            "سيتولى أحد أعضاء فريقنا مراجعته، وسنراسلكم مجددًا فور توفر أي مستجدات.",
        ),
        "ru": Text(
            "Мы получили Ваше обращение {reference}",
            "Мы получили Ваше обращение. Его номер — {reference}; пожалуйста, сохраните этот "
            "номер, чтобы следить за ходом рассмотрения обращения.\n\n"
            "Обращение рассмотрит сотрудник нашей группы. Мы напишем Вам снова, как только "
            "появятся новости.",
        ),
        "pt": Text(
            "Recebemos a sua denúncia {reference}",
            "Recebemos a sua denúncia. A referência é {reference}; pedimos que a guarde para "
            "poder acompanhar o andamento da denúncia.\n\n"
            "Uma pessoa responsável pelo acompanhamento vai analisá-la. Voltaremos a "
            "escrever-lhe assim que houver novidades.",
        ),
    },
    TemplateKey.TRIAGED: {
        "en": Text(
            "Your report {reference} is being handled",
            "Your report {reference} has been reviewed and assigned to a member of our team, "
            "who will handle it with the priority that its urgency requires.\n\n"
            "We will inform you as soon as action has been taken.",
        ),
        "es": Text(
            "Su denuncia {reference} está en trámite",
            "Su denuncia {reference} ha sido examinada y asignada a un miembro de nuestro "
            "equipo, que la tramitará con la prioridad que exija su urgencia.\n\n"
            "Le informaremos en cuanto se hayan adoptado medidas.",
        ),
        "fr": Text(
            "Votre signalement {reference} est en cours de traitement",
            "Votre signalement {reference} a été examiné et confié à un membre de notre équipe, "
            "qui le traitera avec la priorité que requiert son degré d'urgence.\n\n"
            "Nous vous informerons dès que des mesures auront été prises.",
        ),
        "ar": Text(
            "بلاغكم {reference} قيد المعالجة",
            "تمت مراجعة بلاغكم {reference} وإسناده إلى أحد أعضاء فريقنا، الذي سيتولى "
            "معالجته بالأولوية التي تقتضيها درجة إلحاحه.\n\n"
            "وسنُعلمكم فور اتخاذ أي إجراء.",
        ),
        "ru": Text(
            "Ваше обращение {reference} принято в работу",
            "Ваше обращение {reference} рассмотрено и передано ответственному сотруднику нашей "
            "группы. Им займутся с тем приоритетом, которого требует его срочность.\n\n"
            "Мы сообщим Вам, как только будут приняты меры.",
        ),
        "pt": Text(
            "A sua denúncia {reference} está em tratamento",
            "A sua denúncia {reference} foi analisada e atribuída a uma pessoa responsável, que "
            "a tratará com a prioridade que a sua urgência exige.\n\n"
            "Daremos notícias assim que forem tomadas medidas.",
        ),
    },
    TemplateKey.QUESTION: {
        "en": Text(
            "A question about your report {reference}",
            "The person handling your report {reference} needs more information from you.\n\n"
            "Please sign in to HRD Shield, or open the report status page and enter your receipt "
            "code, to read the question and reply. For your safety, the question is not "
            "included in this message.",
        ),
        "es": Text(
            "Una pregunta sobre su denuncia {reference}",
            "La persona que tramita su denuncia {reference} necesita más información de su "
            "parte.\n\n"
            "Le rogamos que inicie sesión en HRD Shield, o que abra la página de estado de la "
            "denuncia e introduzca su código de recibo, para leer la pregunta y responderla. "
            "Por su seguridad, la pregunta no figura en este mensaje.",
        ),
        "fr": Text(
            "Une question concernant votre signalement {reference}",
            "La personne chargée de votre signalement {reference} a besoin d'informations "
            "complémentaires de votre part.\n\n"
            "Nous vous invitons à vous connecter à HRD Shield, ou à ouvrir la page de suivi du "
            "signalement et à saisir votre code de reçu, pour lire la question et y répondre. "
            "Pour votre sécurité, la question ne figure pas dans ce message.",
        ),
        "ar": Text(
            "سؤال بشأن بلاغكم {reference}",
            "يحتاج الشخص المكلف بمعالجة بلاغكم {reference} إلى مزيد من المعلومات منكم.\n\n"
            "نرجو تسجيل الدخول إلى HRD Shield، أو فتح صفحة متابعة البلاغ وإدخال رمز الإيصال، "
            "لقراءة السؤال والرد عليه. وحرصًا على سلامتكم، لم نُدرج نص السؤال في هذه الرسالة.",
        ),
        "ru": Text(
            "Вопрос по Вашему обращению {reference}",
            "Человеку, который занимается Вашим обращением {reference}, нужны дополнительные "
            "сведения от Вас.\n\n"
            "Чтобы прочитать вопрос и ответить на него, пожалуйста, войдите в HRD Shield или "
            "откройте страницу статуса обращения и введите свой код доступа. В целях Вашей "
            "безопасности вопрос в это сообщение не включён.",
        ),
        "pt": Text(
            "Uma pergunta sobre a sua denúncia {reference}",
            "A pessoa responsável pela sua denúncia {reference} precisa de mais informações.\n\n"
            "Para ler a pergunta e responder, pedimos que entre no HRD Shield ou que abra a "
            "página de acompanhamento da denúncia e insira o seu código de recibo. Para sua "
            "segurança, a pergunta não é incluída nesta mensagem.",
        ),
    },
    TemplateKey.OUTCOME: {
        "en": Text(
            "Decision on your report {reference}",
            "A decision has been taken on your report {reference}.\n\n"
            "Please sign in to HRD Shield to read it, together with the reasons for it. If you "
            "disagree with it, you may appeal from the same page.",
        ),
        "es": Text(
            "Decisión sobre su denuncia {reference}",
            "Se ha adoptado una decisión sobre su denuncia {reference}.\n\n"
            "Le rogamos que inicie sesión en HRD Shield para consultarla junto con sus "
            "motivos. Si no está de acuerdo, puede recurrirla desde la misma página.",
        ),
        "fr": Text(
            "Décision concernant votre signalement {reference}",
            "Une décision a été prise concernant votre signalement {reference}.\n\n"
            "Nous vous invitons à vous connecter à HRD Shield pour en prendre connaissance, "
            "ainsi que de ses motifs. Si vous la contestez, vous pouvez former un recours "
            "depuis la même page.",
        ),
        "ar": Text(
            "قرار بشأن بلاغكم {reference}",
            "صدر قرار بشأن بلاغكم {reference}.\n\n"
            "نرجو تسجيل الدخول إلى HRD Shield للاطلاع عليه وعلى أسبابه. وإذا كنتم لا "
            "توافقون عليه، يمكنكم الطعن فيه من الصفحة نفسها.",
        ),
        "ru": Text(
            "Решение по Вашему обращению {reference}",
            "По Вашему обращению {reference} принято решение.\n\n"
            "Чтобы ознакомиться с ним и с его обоснованием, пожалуйста, войдите в HRD Shield. "
            "Если Вы с ним не согласны, Вы можете обжаловать его на той же странице.",
        ),
        "pt": Text(
            "Decisão sobre a sua denúncia {reference}",
            "Foi tomada uma decisão sobre a sua denúncia {reference}.\n\n"
            "Para conhecer a decisão e os seus fundamentos, pedimos que entre no HRD Shield. Se "
            "não concordar com ela, pode recorrer na mesma página.",
        ),
    },
    TemplateKey.PROACTIVE_ALERT: {
        "en": Text(
            "Activity that may be directed at you",
            "Our detection systems have identified activity on the platform that may be "
            "directed at you: {what} (reference {reference}).\n\n"
            "We are examining it. What you can do now is explained here: {guide}\n\n"
            "Please sign in to HRD Shield for details, and contact us if you notice anything "
            "unusual.",
        ),
        "es": Text(
            "Actividad que podría estar dirigida contra usted",
            "Nuestros sistemas de detección han identificado en la plataforma una actividad "
            "que podría estar dirigida contra usted: {what} (referencia {reference}).\n\n"
            "La estamos examinando. Lo que puede hacer ahora se explica aquí: {guide}\n\n"
            "Le rogamos que inicie sesión en HRD Shield para obtener más detalles y que se "
            "ponga en contacto con nosotros si observa algo inusual.",
        ),
        "fr": Text(
            "Une activité susceptible de vous viser",
            "Nos systèmes de détection ont repéré sur la plateforme une activité susceptible "
            "d'être dirigée contre vous : {what} (référence {reference}).\n\n"
            "Nous l'examinons. Ce que vous pouvez faire dès maintenant est expliqué ici\u202f: "
            "{guide}\n\n"
            "Nous vous invitons à vous connecter à HRD Shield pour obtenir des précisions et "
            "à nous contacter si vous remarquez quoi que ce soit d'inhabituel.",
        ),
        "ar": Text(
            "نشاط قد يكون موجّهًا ضدكم",
            "رصدت أنظمة الكشف لدينا على المنصة نشاطًا قد يكون موجّهًا ضدكم: {what} "
            "(الرقم المرجعي {reference}).\n\n"
            "ونحن نعمل على دراسته. ويُشرح هنا ما يمكنكم فعله الآن: {guide}\n\n"
            "نرجو تسجيل الدخول إلى HRD Shield للاطلاع على التفاصيل، والتواصل معنا إذا لاحظتم "
            "أي أمر غير معتاد.",
        ),
        "ru": Text(
            "Активность, которая может быть направлена против Вас",
            "Наши системы выявили на платформе активность, которая может быть направлена "
            "против Вас: {what} (номер {reference}).\n\n"
            "Мы её изучаем. Что Вы можете сделать прямо сейчас, объясняется здесь: "
            "{guide}\n\n"
            "Подробности Вы найдёте, войдя в HRD Shield; свяжитесь с нами, если заметите "
            "что-либо необычное.",
        ),
        "pt": Text(
            "Atividade possivelmente dirigida contra a sua pessoa",
            "Os nossos sistemas identificaram na plataforma uma atividade que pode estar "
            "dirigida contra a sua pessoa: {what} (referência {reference}).\n\n"
            "A atividade está em análise. O que pode fazer desde já está explicado aqui: "
            "{guide}\n\n"
            "Para obter mais detalhes, pedimos que entre no HRD Shield e que nos avise se "
            "notar algo fora do comum.",
        ),
    },
    TemplateKey.RETENTION_WARNING: {
        "en": Text(
            "Your report {reference} will be deleted on {date}",
            "Under our data retention policy, the information held about your report "
            "{reference} will be permanently deleted on {date}.\n\n"
            "If you need this information to be kept, for example for legal proceedings, "
            "please contact us before that date.",
        ),
        "es": Text(
            "Su denuncia {reference} se eliminará el {date}",
            "De conformidad con nuestra política de conservación de datos, la información "
            "relativa a su denuncia {reference} se eliminará definitivamente el {date}.\n\n"
            "Si necesita que se conserve, por ejemplo para un procedimiento judicial, le "
            "rogamos que se ponga en contacto con nosotros antes de esa fecha.",
        ),
        "fr": Text(
            "Votre signalement {reference} sera supprimé le {date}",
            "Conformément à notre politique de conservation des données, les informations "
            "relatives à votre signalement {reference} seront définitivement supprimées le "
            "{date}.\n\n"
            "Si vous avez besoin qu'elles soient conservées, par exemple dans le cadre d'une "
            "procédure judiciaire, nous vous invitons à nous contacter avant cette date.",
        ),
        "ar": Text(
            "سيُحذف بلاغكم {reference} بتاريخ {date}",
            "وفقًا لسياسة الاحتفاظ بالبيانات المعمول بها لدينا، ستُحذف المعلومات المتعلقة "
            "ببلاغكم {reference} نهائيًا بتاريخ {date}.\n\n"
            "وإذا كنتم بحاجة إلى الاحتفاظ بهذه المعلومات، لإجراءات قانونية مثلًا، فنرجو "
            "التواصل معنا قبل ذلك التاريخ.",
        ),
        "ru": Text(
            "Ваше обращение {reference} будет удалено {date}",
            "В соответствии с нашей политикой хранения данных сведения о Вашем обращении "
            "{reference} будут безвозвратно удалены {date}.\n\n"
            "Если Вам нужно, чтобы эти сведения сохранились, например для судебного "
            "разбирательства, пожалуйста, свяжитесь с нами до этой даты.",
        ),
        "pt": Text(
            "A sua denúncia {reference} será apagada em {date}",
            "De acordo com a nossa política de conservação de dados, as informações sobre a sua "
            "denúncia {reference} serão apagadas definitivamente em {date}.\n\n"
            "Se precisar que estas informações sejam conservadas, por exemplo para um processo "
            "judicial, pedimos que nos avise antes dessa data.",
        ),
    },
    # To staff. Only the reference: the case itself is read in the service after signing in.
    TemplateKey.ESCALATION_LEAD: {
        "en": Text(
            "Response target missed: case {reference}",
            "Case {reference} has reached its first-response target without being "
            "acknowledged. You are the on-call lead: please make sure that somebody triages it "
            "now.\n\nSign in to HRD Shield to open the case.",
        ),
        "es": Text(
            "Plazo de respuesta incumplido: caso {reference}",
            "El caso {reference} ha alcanzado su plazo de primera respuesta sin que nadie lo "
            "haya atendido. Usted es la persona responsable de guardia: asegúrese de que "
            "alguien lo clasifique ahora.\n\nInicie sesión en HRD Shield para abrir el caso.",
        ),
        "fr": Text(
            "Délai de réponse dépassé\u202f: dossier {reference}",
            "Le dossier {reference} a atteint son délai de première réponse sans avoir été pris "
            "en charge. Vous êtes la personne responsable d'astreinte\u202f: veillez à ce que "
            "quelqu'un le trie dès maintenant.\n\nConnectez-vous à HRD Shield pour ouvrir le "
            "dossier.",
        ),
        "ar": Text(
            "تجاوز مهلة الاستجابة: الحالة {reference}",
            "بلغت الحالة {reference} مهلة الاستجابة الأولى دون أن يتسلمها أحد. أنتم "
            "المسؤول المناوب: نرجو التأكد من أن أحدًا يتولى فرزها الآن.\n\n"
            "سجّلوا الدخول إلى HRD Shield لفتح الحالة.",
        ),
        "ru": Text(
            "Срок ответа нарушен: дело {reference}",
            "Дело {reference} достигло срока первого ответа, но никто не принял его в работу. "
            "Сейчас дежурите Вы: пожалуйста, убедитесь, что кто-то определит его приоритет "
            "прямо сейчас.\n\nЧтобы открыть дело, войдите в HRD Shield.",
        ),
        "pt": Text(
            "Prazo de resposta ultrapassado: caso {reference}",
            "O caso {reference} chegou ao prazo de primeira resposta sem ter sido atendido. É a "
            "pessoa responsável de serviço: pedimos que garanta que alguém define agora a "
            "prioridade do caso.\n\nPara abrir o caso, entre no HRD Shield.",
        ),
    },
    TemplateKey.ESCALATION_HEAD: {
        "en": Text(
            "Escalation: case {reference} is still unanswered",
            "Case {reference} is still unacknowledged, half as long again after its "
            "first-response target. The on-call lead was alerted at the target. As head of "
            "response, please step in.\n\nSign in to HRD Shield to open the case.",
        ),
        "es": Text(
            "Escalada: el caso {reference} sigue sin respuesta",
            "El caso {reference} sigue sin atenderse, pasada la mitad de su plazo de primera "
            "respuesta después de vencido. Se avisó a la persona responsable de guardia al "
            "vencer el plazo. Como responsable de la respuesta, le rogamos que intervenga."
            "\n\nInicie sesión en HRD Shield para abrir el caso.",
        ),
        "fr": Text(
            "Escalade\u202f: le dossier {reference} est toujours sans réponse",
            "Le dossier {reference} n'est toujours pas pris en charge, une demi-période après "
            "l'échéance de son délai de première réponse. La personne d'astreinte a été "
            "alertée à l'échéance. En tant que responsable de la réponse, merci "
            "d'intervenir.\n\nConnectez-vous à HRD Shield pour ouvrir le dossier.",
        ),
        "ar": Text(
            "تصعيد: الحالة {reference} لا تزال دون استجابة",
            "لا تزال الحالة {reference} دون أن يتسلمها أحد بعد مرور نصف مهلة الاستجابة "
            "الأولى مرة أخرى على انقضائها. وقد نُبّه المسؤول المناوب عند انقضاء المهلة. "
            "بصفتكم رئيس فريق الاستجابة، نرجو منكم التدخل.\n\n"
            "سجّلوا الدخول إلى HRD Shield لفتح الحالة.",
        ),
        "ru": Text(
            "Передано на уровень выше: дело {reference} всё ещё без ответа",
            "Дело {reference} по-прежнему не принято в работу, хотя после срока первого ответа "
            "прошла ещё половина этого срока. Оповещение дежурному руководителю было отправлено, "
            "когда наступил срок. Вы руководите реагированием: пожалуйста, примите меры."
            "\n\nЧтобы открыть дело, войдите в HRD Shield.",
        ),
        "pt": Text(
            "Escalado: o caso {reference} continua sem resposta",
            "O caso {reference} continua sem ser atendido, depois de passada mais metade do "
            "prazo de primeira resposta. A pessoa responsável de serviço recebeu um alerta "
            "quando o prazo terminou. Por ter a seu cargo a coordenação da resposta, pedimos que "
            "intervenha.\n\nPara abrir o caso, entre no HRD Shield.",
        ),
    },
    TemplateKey.ACCOUNT_EXISTS: {
        "en": Text(
            "Somebody tried to register with your address",
            "Somebody tried to enrol in HRD Shield with this e-mail address, which already has "
            "an account. Nothing was changed.\n\nIf it was you, sign in with your password "
            "instead. If it was not you, you do not need to do anything; if it happens again, "
            "please tell the organisation that supports you.",
        ),
        "es": Text(
            "Alguien intentó registrarse con su dirección",
            "Alguien intentó inscribirse en HRD Shield con esta dirección de correo, que ya "
            "tiene una cuenta. No se ha cambiado nada.\n\nSi fue usted, inicie sesión con su "
            "contraseña. Si no fue usted, no tiene que hacer nada; si vuelve a ocurrir, "
            "comuníquelo a la organización que le presta apoyo.",
        ),
        "fr": Text(
            "Quelqu'un a tenté de s'inscrire avec votre adresse",
            "Quelqu'un a tenté de s'inscrire à HRD Shield avec cette adresse électronique, qui "
            "a déjà un compte. Rien n'a été modifié.\n\nSi c'était vous, connectez-vous "
            "plutôt avec votre mot de passe. Sinon, vous n'avez rien à faire\u202f; si cela se "
            "reproduit, prévenez l'organisation qui vous accompagne.",
        ),
        "ar": Text(
            "حاول شخص ما التسجيل بعنوانكم",
            "حاول شخص ما التسجيل في HRD Shield بعنوان البريد الإلكتروني هذا، وله حساب "
            "بالفعل. لم يتغير أي شيء.\n\n"
            "إذا كنتم أنتم، فسجّلوا الدخول بكلمة المرور "
            "الخاصة بكم. وإن لم تكونوا أنتم، فلا يلزمكم فعل شيء؛ وإذا تكرر ذلك، فنرجو "
            "إبلاغ المنظمة التي تقدم لكم الدعم.",
        ),
        "ru": Text(
            "Кто-то попытался зарегистрироваться с Вашим адресом",
            "Кто-то попытался зарегистрироваться в HRD Shield с этим адресом электронной почты, "
            "для которого уже есть учётная запись. Ничего не изменено.\n\nЕсли это были Вы, "
            "просто войдите со своим паролем. Если это были не Вы, ничего делать не нужно; если "
            "это повторится, пожалуйста, сообщите об этом организации, которая Вас поддерживает.",
        ),
        "pt": Text(
            "Alguém tentou inscrever-se com o seu endereço",
            "Alguém tentou inscrever-se no HRD Shield com este endereço de e-mail, que já tem "
            "uma conta. Nada foi alterado.\n\nSe a tentativa foi sua, basta entrar com a sua "
            "senha. Se não foi, não é necessário fazer nada; se voltar a acontecer, pedimos que "
            "informe a organização que lhe presta apoio.",
        ),
    },
    TemplateKey.PROTECTION_ON: {
        "en": Text(
            "A protective measure was turned on for your account",
            "A protective measure ({reference}) was turned on for your account on the "
            "platform, by your trusted partner, by our team, or automatically during an "
            "attack as you chose.\n\n"
            "Please sign in to HRD Shield to see what it does, how long it lasts and how to "
            "turn it off.",
        ),
        "es": Text(
            "Se ha activado una medida de protección para su cuenta",
            "Se ha activado una medida de protección ({reference}) para su cuenta en la "
            "plataforma, a iniciativa de su organización de confianza, de nuestro equipo o "
            "de forma automática durante un ataque, tal como usted eligió.\n\n"
            "Le rogamos que inicie sesión en HRD Shield para ver en qué consiste, cuánto dura "
            "y cómo desactivarla.",
        ),
        "fr": Text(
            "Une mesure de protection a été activée pour votre compte",
            "Une mesure de protection ({reference}) a été activée pour votre compte sur la "
            "plateforme, par votre organisation de confiance, par notre équipe ou "
            "automatiquement pendant une attaque, comme vous l'avez choisi.\n\n"
            "Nous vous invitons à vous connecter à HRD Shield pour voir en quoi elle "
            "consiste, combien de temps elle dure et comment la désactiver.",
        ),
        "ar": Text(
            "تم تفعيل إجراء حماية لحسابكم",
            "تم تفعيل إجراء حماية ({reference}) لحسابكم على المنصة، من قِبل شريككم "
            "الموثوق أو فريقنا، أو تلقائيًا أثناء هجوم وفق اختياركم.\n\n"
            "نرجو تسجيل الدخول إلى HRD Shield لمعرفة ما يفعله هذا الإجراء ومدته وكيفية "
            "إيقافه.",
        ),
        "ru": Text(
            "Для вашего аккаунта включена защитная мера",
            "Для вашего аккаунта на платформе включена защитная мера ({reference}): её "
            "включил ваш доверенный партнёр или наша команда, либо она включилась "
            "автоматически во время атаки, как вы выбрали.\n\n"
            "Пожалуйста, войдите в HRD Shield, чтобы узнать, что она делает, сколько "
            "действует и как её отключить.",
        ),
        "pt": Text(
            "Foi ativada uma medida de proteção para a sua conta",
            "Foi ativada uma medida de proteção ({reference}) para a sua conta na "
            "plataforma, pelo seu parceiro de confiança, pelas pessoas responsáveis pelo "
            "acompanhamento ou automaticamente durante um ataque, como escolheu.\n\n"
            "Entre no HRD Shield para ver o que ela faz, quanto tempo dura e como "
            "desativá-la.",
        ),
    },
    TemplateKey.PROTECTION_FAILED: {
        "en": Text(
            "A protective measure for your account could not be carried out",
            "The platform could not carry out a protective measure ({reference}) for your "
            "account, even after several attempts. Our team has been told and is following "
            "it up.\n\n"
            "Please sign in to HRD Shield to see which measure it is; the safety guides there "
            "explain what you can do yourself in the meantime.",
        ),
        "es": Text(
            "No se ha podido aplicar una medida de protección para su cuenta",
            "La plataforma no ha podido aplicar una medida de protección ({reference}) para "
            "su cuenta, ni siquiera tras varios intentos. Nuestro equipo ha sido informado y "
            "se ocupa de ello.\n\n"
            "Le rogamos que inicie sesión en HRD Shield para ver de qué medida se trata; las "
            "guías de seguridad explican lo que usted puede hacer mientras tanto.",
        ),
        "fr": Text(
            "Une mesure de protection de votre compte n'a pas pu être appliquée",
            "La plateforme n'a pas pu appliquer une mesure de protection ({reference}) de "
            "votre compte, même après plusieurs tentatives. Notre équipe en a été informée "
            "et s'en occupe.\n\n"
            "Nous vous invitons à vous connecter à HRD Shield pour voir de quelle mesure il "
            "s'agit\u202f; les guides de sécurité expliquent ce que vous pouvez faire "
            "vous-même en attendant.",
        ),
        "ar": Text(
            "تعذّر تنفيذ إجراء حماية لحسابكم",
            "لم تتمكن المنصة من تنفيذ إجراء حماية ({reference}) لحسابكم رغم عدة محاولات. "
            "وقد أُبلغ فريقنا وهو يتابع الأمر.\n\n"
            "نرجو تسجيل الدخول إلى HRD Shield لمعرفة الإجراء المعني؛ وتشرح أدلة السلامة هناك "
            "ما يمكنكم القيام به بأنفسكم في الأثناء.",
        ),
        "ru": Text(
            "Не удалось применить защитную меру для вашего аккаунта",
            "Платформе не удалось применить защитную меру ({reference}) для вашего "
            "аккаунта даже после нескольких попыток. Наша команда уведомлена и занимается "
            "этим.\n\n"
            "Пожалуйста, войдите в HRD Shield, чтобы узнать, о какой мере идёт речь; в "
            "руководствах по безопасности объясняется, что вы можете сделать сами.",
        ),
        "pt": Text(
            "Não foi possível aplicar uma medida de proteção à sua conta",
            "A plataforma não conseguiu aplicar uma medida de proteção ({reference}) à sua "
            "conta, mesmo após várias tentativas. As pessoas responsáveis pelo "
            "acompanhamento foram informadas e tratam do assunto.\n\n"
            "Entre no HRD Shield para ver de que medida se trata; os guias de segurança "
            "explicam o que pode fazer entretanto.",
        ),
    },
}

LANGUAGES: tuple[str, ...] = tuple(FOOTERS)


def primary_subtag(code: str) -> str:
    """Return the primary language subtag of a BCP 47 tag: ``es-MX`` gives ``es``."""
    return code.strip().replace("_", "-").split("-", 1)[0].lower()


def supported_language(requested: str | None) -> str:
    """Return the language to write in: `requested` (or its primary subtag) if we have it."""
    if requested and primary_subtag(requested) in FOOTERS:
        return primary_subtag(requested)
    return DEFAULT_LANGUAGE


def placeholders(template: TemplateKey) -> frozenset[str]:
    """Return the names a context must give to fill `template` (from its English text)."""
    english = TEMPLATES[template][DEFAULT_LANGUAGE]
    return _names(english.subject) | _names(english.body)


def _names(text: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def check_context(template: TemplateKey, context: dict[str, str]) -> None:
    """Raise `TemplateError` unless `context` gives exactly the placeholders of `template`."""
    needed = placeholders(template)
    missing, extra = needed - context.keys(), context.keys() - needed
    if missing:
        raise TemplateError(f"{template.value} needs {', '.join(sorted(missing))}")
    if extra:
        # Unused values would still be stored (encrypted) for nothing: refuse them.
        raise TemplateError(f"{template.value} does not use {', '.join(sorted(extra))}")


def render(template: TemplateKey, language: str, context: dict[str, str]) -> RenderedMessage:
    """Return the subject and body of `template` in `language` (English if we lack it)."""
    check_context(template, context)
    code = supported_language(language)
    text = TEMPLATES[template][code]
    # Values are plain strings substituted once: a value holding braces is not re-expanded.
    subject = text.subject.format_map(context)
    body = f"{text.body.format_map(context)}\n\n-- \n{FOOTERS[code]}\n"
    return RenderedMessage(language=code, subject=subject, body=body)
