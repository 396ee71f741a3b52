"""What the bot says of its own (rate limits, corpora, /add and /sources), in French and English.

The answer pipeline's messages (cooldown, busy, error…) are bot.answer.language's; these are the
Discord interface's alone. A question's words follow the question's language; a command's
follow the member's Discord language (interaction.locale).
"""

from __future__ import annotations

WORDS = {
    "fr": {
        "channel_limit": "Beaucoup de questions dans ce salon en ce moment : merci de réessayer dans {seconds} s.",
        "no_corpus": "Je ne réponds pas dans ce salon : aucun corpus d’articles ne lui est attribué.",
        "not_allowed": "Désolé, seuls les membres ayant le rôle {roles} peuvent ajouter des articles et "
                       "lister les sources.",
        "no_roles": "Désolé, l’ajout d’articles et la liste des sources ne sont ouverts à aucun rôle ici.",
        "add_what": "Donnez une adresse (`url`) ou joignez un fichier .txt, .md ou .html (`file`), pas les deux.",
        "add_kind": "Le fichier {name} n’est pas un article que je sais lire : joignez un fichier .txt, .md ou .html.",
        "add_big": "Le fichier {name} dépasse la taille maximale d’un article ({mb} Mo).",
        "add_url": "{url} n’est pas une adresse http:// ou https://.",
        "added": "Ajouté au corpus de ce salon : {titles}. Il compte maintenant {articles} articles.",
        "unchanged": "Déjà dans le corpus de ce salon, sans changement.",
        "add_failed": "Rien n’a été ajouté : {reason}",
        "sources_head": "{count} articles dans le corpus de ce salon :",
        "sources_more": "… et {count} autres.",
        "sources_empty": "Le corpus de ce salon est vide : ajoutez des articles avec /add.",
        "undated": "sans date",
    },
    "en": {
        "channel_limit": "This channel is asking a lot of questions right now: please try again in {seconds} s.",
        "no_corpus": "I don't answer in this channel: no corpus of articles is assigned to it.",
        "not_allowed": "Sorry, only members with the role {roles} can add articles and list the sources.",
        "no_roles": "Sorry, adding articles and listing the sources are open to no role here.",
        "add_what": "Give a URL (`url`) or attach a .txt, .md or .html file (`file`), not both.",
        "add_kind": "{name} is not an article I can read: attach a .txt, .md or .html file.",
        "add_big": "{name} is larger than an article may be ({mb} MB).",
        "add_url": "{url} is not an http:// or https:// address.",
        "added": "Added to this channel's corpus: {titles}. It now holds {articles} articles.",
        "unchanged": "Already in this channel's corpus, unchanged.",
        "add_failed": "Nothing was added: {reason}",
        "sources_head": "{count} articles in this channel's corpus:",
        "sources_more": "… and {count} more.",
        "sources_empty": "This channel's corpus is empty: add articles with /add.",
        "undated": "undated",
    },
}


def words(language: str, key: str, **values) -> str:
    """The bot's sentence `key` in `language` (English when it has no such language)."""
    return WORDS.get(language, WORDS["en"])[key].format(**values)


def locale_language(locale: object) -> str:
    """"fr" for a French Discord locale, else "en"."""
    return "fr" if str(locale or "").lower().startswith("fr") else "en"
