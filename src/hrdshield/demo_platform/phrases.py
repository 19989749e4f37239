"""Invented sentences for the demo platform, in six languages.

Every line here was written for this project: no quotation of real posts, no real person's name,
handle, phone number or address. Abusive lines are deliberately mild stand-ins (a threat, an
insult) so that the repository can ship them; they exist only to exercise the detectors.
"""

# ruff: noqa: RUF001  (Cyrillic and Arabic letters are the point of multilingual text)

from __future__ import annotations

LANGUAGES = ("en", "es", "fr", "ar", "ru", "pt")

COUNTRIES = {
    "en": ("GB", "KE", "NG", "US"),
    "es": ("AR", "CO", "ES", "MX"),
    "fr": ("CA", "FR", "SN", "TN"),
    "ar": ("EG", "JO", "LB", "MA"),
    "ru": ("BY", "KG", "KZ", "RU"),
    "pt": ("AO", "BR", "MZ", "PT"),
}

HANDLE_WORDS = (
    "river", "maple", "harbor", "cedar", "lantern", "meadow", "copper", "willow",
    "coral", "ember", "summit", "pebble", "orchard", "canyon", "lagoon", "aurora",
)  # fmt: skip
HANDLE_NOUNS = (
    "collective", "reader", "baker", "cyclist", "garden", "choir", "notes", "studio",
    "kitchen", "radio", "makers", "hikers",
)  # fmt: skip

POSTS = {
    "en": (
        "Lovely morning at the community garden today.",
        "Finished a great book about river ecology.",
        "The neighbourhood library has new opening hours.",
        "Anyone else watching the football final tonight?",
        "Trying a new bread recipe this weekend.",
    ),
    "es": (
        "Qué mañana tan bonita en el huerto comunitario.",
        "Terminé un libro estupendo sobre ecología de ríos.",
        "La biblioteca del barrio tiene nuevo horario.",
        "¿Alguien más va a ver la final de fútbol esta noche?",
        "Este fin de semana pruebo una receta nueva de pan.",
    ),
    "fr": (
        "Belle matinée au jardin partagé aujourd'hui.",
        "J'ai fini un très bon livre sur l'écologie des rivières.",
        "La bibliothèque du quartier a de nouveaux horaires.",
        "Quelqu'un d'autre regarde la finale de football ce soir ?",
        "J'essaie une nouvelle recette de pain ce week-end.",
    ),
    "ar": (
        "صباح جميل في الحديقة المجتمعية اليوم.",
        "أنهيت كتابًا رائعًا عن بيئة الأنهار.",
        "مكتبة الحي لديها مواعيد عمل جديدة.",
        "هل يشاهد أحد غيري نهائي كرة القدم الليلة؟",
        "سأجرب وصفة خبز جديدة في عطلة نهاية الأسبوع.",
    ),
    "ru": (
        "Прекрасное утро в общественном саду сегодня.",
        "Отличная книга об экологии рек, всем советую.",
        "У районной библиотеки новый график работы.",
        "Кто ещё смотрит финал по футболу сегодня вечером?",
        "В выходные попробую новый рецепт хлеба.",
    ),
    "pt": (
        "Que manhã linda na horta comunitária hoje.",
        "Terminei um livro ótimo sobre ecologia de rios.",
        "A biblioteca do bairro tem novo horário.",
        "Mais alguém vai assistir à final de futebol hoje à noite?",
        "Neste fim de semana vou testar uma receita nova de pão.",
    ),
}

DEFENDER_POSTS = {
    "en": (
        "Our free legal clinic is open again this Thursday.",
        "Our new report on access to clean water in rural areas is out today.",
        "Thank you to everyone who joined the digital safety workshop.",
    ),
    "es": (
        "Nuestra clínica jurídica gratuita abre de nuevo este jueves.",
        "Hoy publicamos un informe sobre el acceso al agua potable en zonas rurales.",
        "Gracias a todas las personas que vinieron al taller de seguridad digital.",
    ),
    "fr": (
        "Notre permanence juridique gratuite rouvre ce jeudi.",
        "Notre rapport sur l'accès à l'eau potable en zone rurale est publié aujourd'hui.",
        "Merci à toutes et à tous pour l'atelier de sécurité numérique.",
    ),
    "ar": (
        "عيادتنا القانونية المجانية تفتح أبوابها من جديد يوم الخميس.",
        "صدر اليوم تقريرنا الجديد عن الحصول على مياه الشرب في المناطق الريفية.",
        "شكرًا لكل من شارك في ورشة الأمان الرقمي.",
    ),
    "ru": (
        "Наша бесплатная юридическая консультация снова работает в четверг.",
        "Сегодня вышел наш доклад о доступе к чистой воде в сельских районах.",
        "Спасибо всем, кто пришёл на семинар по цифровой безопасности.",
    ),
    "pt": (
        "Nossa assessoria jurídica gratuita volta a abrir nesta quinta-feira.",
        "Saiu hoje o nosso relatório sobre acesso à água potável em áreas rurais.",
        "Obrigado a todas as pessoas que participaram da oficina de segurança digital.",
    ),
}

REPLIES = {
    "en": ("Agreed!", "Thanks for sharing.", "Great idea, count me in.", "Ha, same here."),
    "es": ("¡De acuerdo!", "Gracias por compartir.", "Buena idea, me apunto.", "Jaja, igual aquí."),
    "fr": ("D'accord !", "Merci du partage.", "Bonne idée, je viens.", "Pareil ici, haha."),
    "ar": ("أوافقك!", "شكرًا على المشاركة.", "فكرة رائعة، أنا معكم.", "وأنا كذلك."),
    "ru": (
        "Поддерживаю!",
        "Спасибо, что поделились.",
        "Отличная идея, я с вами.",
        "У меня так же.",
    ),
    "pt": (
        "Concordo!",
        "Valeu por compartilhar.",
        "Boa ideia, conte comigo.",
        "Haha, aqui também.",
    ),
}

MENTIONS = {
    "en": (
        "Thanks {handle} for the book tip!",
        "{handle} see you at the market on Saturday?",
        "Great talk yesterday, {handle}.",
    ),
    "es": (
        "¡Gracias {handle} por la recomendación del libro!",
        "{handle} ¿nos vemos en el mercado el sábado?",
        "Muy buena charla ayer, {handle}.",
    ),
    "fr": (
        "Merci {handle} pour le conseil de lecture !",
        "{handle} on se voit au marché samedi ?",
        "Super intervention hier, {handle}.",
    ),
    "ar": (
        "شكرًا {handle} على ترشيح الكتاب!",
        "{handle} نلتقي في السوق يوم السبت؟",
        "كانت محاضرة رائعة أمس يا {handle}.",
    ),
    "ru": (
        "Спасибо, {handle}, за совет про книгу!",
        "{handle}, увидимся на рынке в субботу?",
        "Отличное выступление вчера, {handle}.",
    ),
    "pt": (
        "Valeu {handle} pela dica de livro!",
        "{handle} nos vemos na feira no sábado?",
        "Ótima palestra ontem, {handle}.",
    ),
}

DIRECT_MESSAGES = {
    "en": ("See you at the meeting tomorrow.", "Can you send me the recipe?"),
    "es": ("Nos vemos mañana en la reunión.", "¿Me pasas la receta?"),
    "fr": ("À demain pour la réunion.", "Tu peux m'envoyer la recette ?"),
    "ar": ("أراك في الاجتماع غدًا.", "هل يمكنك إرسال الوصفة لي؟"),
    "ru": ("Увидимся завтра на встрече.", "Пришлёшь мне рецепт?"),
    "pt": ("Até amanhã na reunião.", "Pode me mandar a receita?"),
}

ABUSE = {
    "en": (
        "{handle} we know where you live.",
        "{handle} you will regret this.",
        "{handle} nobody wants you here, clown.",
        "{handle} shut up or else.",
    ),
    "es": (
        "{handle} sabemos dónde vives.",
        "{handle} te vas a arrepentir.",
        "{handle} nadie te quiere aquí, payaso.",
        "{handle} cállate o ya verás.",
    ),
    "fr": (
        "{handle} on sait où tu habites.",
        "{handle} tu vas le regretter.",
        "{handle} personne ne veut de toi ici, clown.",
        "{handle} tais-toi, sinon tu verras.",
    ),
    "ar": (
        "{handle} نعرف أين تسكن.",
        "{handle} ستندم على هذا.",
        "{handle} لا أحد يريدك هنا يا مهرج.",
        "{handle} اسكت وإلا سترى.",
    ),
    "ru": (
        "{handle} мы знаем, где ты живёшь.",
        "{handle} ты об этом пожалеешь.",
        "{handle} никто тебя здесь не ждёт, клоун.",
        "{handle} замолчи, а то увидишь.",
    ),
    "pt": (
        "{handle} sabemos onde você mora.",
        "{handle} você vai se arrepender.",
        "{handle} ninguém te quer aqui, palhaço.",
        "{handle} cala a boca ou vai ver.",
    ),
}

DOXXING = {
    "en": "Everyone, {handle} lives at {address}. Phone: {phone}. Go and pay a visit.",
    "es": "Atención: {handle} vive en {address}. Teléfono: {phone}. Vayan a hacerle una visita.",
    "fr": "Avis à tous : {handle} habite {address}. Téléphone : {phone}. Allez lui rendre visite.",
    "ar": "انتبهوا جميعًا: {handle} يسكن في {address}. الهاتف: {phone}. قوموا بزيارته.",
    "ru": "Внимание: {handle} живёт по адресу {address}. Телефон: {phone}. Навестите.",
    "pt": "Atenção: {handle} mora em {address}. Telefone: {phone}. Façam uma visita.",
}

IMPERSONATION_POSTS = {
    "en": (
        "This is my new account, the old one was hacked. Follow me here and send me your contacts."
    ),
    "es": (
        "Esta es mi cuenta nueva, la anterior fue hackeada. Síganme aquí y mándenme sus contactos."
    ),
    "fr": (
        "Voici mon nouveau compte, l'ancien a été piraté. Suivez-moi ici et envoyez vos contacts."
    ),
    "ar": "هذا حسابي الجديد، الحساب القديم تعرض للاختراق. تابعوني هنا وأرسلوا لي جهات الاتصال.",
    "ru": "Это мой новый аккаунт, старый взломали. Подпишитесь здесь и пришлите мне свои контакты.",
    "pt": "Esta é a minha conta nova, a antiga foi invadida. Me sigam aqui e mandem seus contatos.",
}

IMPERSONATION_MESSAGES = {
    "en": "Hi, it's me on a new account. Can you send me the list of people from the last meeting?",
    "es": (
        "Hola, soy yo con una cuenta nueva. ¿Me mandas la lista de asistentes de la última reunión?"
    ),
    "fr": (
        "Salut, c'est moi avec un nouveau compte. "
        "Tu peux m'envoyer la liste de la dernière réunion ?"
    ),
    "ar": "مرحبًا، هذا أنا بحساب جديد. هل يمكنك أن ترسل لي قائمة الحاضرين في الاجتماع الأخير؟",
    "ru": "Привет, это я, у меня новый аккаунт. Пришлёшь список участников последней встречи?",
    "pt": "Oi, sou eu numa conta nova. Pode me mandar a lista de participantes da última reunião?",
}

PHISHING = {
    "en": (
        "Security notice: your account will be locked in 24 hours. Confirm your identity at {url}"
    ),
    "es": (
        "Aviso de seguridad: tu cuenta será bloqueada en 24 horas. Confirma tu identidad en {url}"
    ),
    "fr": (
        "Avis de sécurité : votre compte sera bloqué dans 24 heures. "
        "Confirmez votre identité : {url}"
    ),
    "ar": "تنبيه أمني: سيتم قفل حسابك خلال 24 ساعة. أكّد هويتك عبر {url}",
    "ru": (
        "Уведомление безопасности: ваш аккаунт заблокируют через 24 часа. Подтвердите вход: {url}"
    ),
    "pt": (
        "Aviso de segurança: sua conta será bloqueada em 24 horas. Confirme sua identidade em {url}"
    ),
}

# Defanged (hxxp, [.]) and on domains reserved by RFC 2606 / RFC 6761, so nothing resolves.
PHISHING_URLS = (
    "hxxps://account-verify[.]example[.]com/login",
    "hxxps://secure-login[.]test/confirm",
    "hxxp://platform-support[.]invalid/reset",
)

SMEAR = {
    "en": (
        "{handle} is paid by foreign agents. Do not trust anything they say.",
        "Reminder: {handle} spreads lies for money.",
    ),
    "es": (
        "{handle} recibe dinero de agentes extranjeros. No crean nada de lo que publica.",
        "Recuerden: {handle} difunde mentiras por dinero.",
    ),
    "fr": (
        "{handle} touche de l'argent d'agents étrangers. Ne croyez rien de ses messages.",
        "Rappel : {handle} répand des mensonges contre de l'argent.",
    ),
    "ar": (
        "{handle} يتلقى أموالًا من عملاء أجانب. لا تصدقوا أي شيء ينشره.",
        "تذكير: {handle} ينشر الأكاذيب مقابل المال.",
    ),
    "ru": (
        "{handle} получает деньги от иностранных агентов. Не верьте ни одному слову.",
        "Напоминаем: {handle} распространяет ложь за деньги.",
    ),
    "pt": (
        "{handle} recebe dinheiro de agentes estrangeiros. Não acreditem em nada do que publica.",
        "Lembrete: {handle} espalha mentiras por dinheiro.",
    ),
}
