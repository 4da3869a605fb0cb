"""Secrets at rest: a peewee field whose text is stored encrypted with Fernet.

    class Channel(BaseModel):
        token = EncryptedTextField()

    use_keys(settings.ensure_encryption_keys())   # once, at start-up
    channel.token                                 # the plaintext, decrypted when read
    rotate(TABLES)                                # re-encrypt every secret with the first key

The keys are Fernet keys (``SOCIALPUB_ENCRYPTION_KEYS``, see config.py): the
first encrypts, every one decrypts (MultiFernet). That is how a key is
rotated: put the new key first, restart, :func:`rotate`, then drop the old one.

A value read from the database stays encrypted inside the model instance (a
:class:`Ciphertext`) until the attribute is read. So a list of channels needs
no key, and the error for a value that no key opens can name its row.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from peewee import FieldAccessor, TextField

from .db import write_transaction
from .errors import SecretUnreadable

#: What every Fernet token starts with (version byte 0x80, base64): text that
#: does not was never encrypted.
FERNET_PREFIX = "gAAAAA"
#: What to run to generate a key, for messages and the README.
GENERATE_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"

#: The keys in use, first one first; set by :func:`use_keys`.
_fernets: list = []


class Ciphertext(str):
    """Text as stored: a Fernet token. Written back unchanged, never encrypted twice."""


def use_keys(keys: Sequence[str]) -> None:
    """Encrypt with ``keys[0]`` from now on, and decrypt with any of ``keys``.

    Raises:
      ValueError: no key, or one that is not a Fernet key (the message names
        its position, never the key).
    """
    fernets = []
    for number, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            raise ValueError(f"SOCIALPUB_ENCRYPTION_KEYS: key {number} is not a Fernet key (32 url-safe "
                             f"base64-encoded bytes); generate one with {GENERATE_KEY}") from None
    if not fernets:
        raise ValueError("SOCIALPUB_ENCRYPTION_KEYS: no key given")
    _fernets[:] = fernets


def _keyring() -> MultiFernet:
    if not _fernets:
        raise RuntimeError("no encryption keys: call socialpub.encryption.use_keys() at start-up")
    return MultiFernet(_fernets)


def encrypt(plaintext: str) -> Ciphertext:
    """``plaintext`` encrypted with the first key."""
    return Ciphertext(_keyring().encrypt(plaintext.encode()).decode())


def decrypt(ciphertext: str) -> str:
    """The plaintext of ``ciphertext``.

    Raises:
      cryptography.fernet.InvalidToken: no key opens it, or it is not a Fernet token.
    """
    return _keyring().decrypt(ciphertext.encode()).decode()


def describe(model, row_id, name=None) -> str:
    """How an error names a row: ``channel 3 ('Our page')``."""
    label = f"{model._meta.table_name} {row_id}"
    return f"{label} ({name!r})" if name else label


def unreadable(what: str, field_name: str, ciphertext: str) -> SecretUnreadable:
    """The error for a stored value no key opens, saying what to do about it."""
    if not ciphertext.startswith(FERNET_PREFIX):
        return SecretUnreadable(f"{what}: its {field_name} is stored unencrypted; run `socialpub db "
                                f"upgrade` to encrypt it")
    return SecretUnreadable(
        f"{what}: its {field_name} cannot be decrypted with any key in SOCIALPUB_ENCRYPTION_KEYS (or, "
        f"without that variable, the instance folder's encryption_key file). Put the key it was "
        f"encrypted with back in the list, or enter the {field_name} again")


class _DecryptOnRead(FieldAccessor):
    """Decrypts the stored value when the attribute is read."""

    def __get__(self, instance, instance_type=None):
        if instance is None:
            return self.field
        value = instance.__data__.get(self.name)
        if not isinstance(value, Ciphertext):
            return value  # None, or plaintext set on this instance and not yet re-read
        try:
            return decrypt(value)
        except InvalidToken:
            what = describe(type(instance), instance.get_id(), instance.__data__.get("name"))
            raise unreadable(what, self.name, value) from None


class EncryptedTextField(TextField):
    """Text encrypted with the first key on the way in, decrypted when the
    attribute is read (see the module's docstring). Never compare it in a query:
    every encryption of the same text differs."""

    accessor_class = _DecryptOnRead

    def db_value(self, value):
        if value is None or isinstance(value, Ciphertext):
            return None if value is None else str(value)
        return encrypt(value)

    def python_value(self, value):
        return None if value is None else Ciphertext(value)


def encrypted_fields(model) -> list:
    return [f for f in model._meta.sorted_fields if isinstance(f, EncryptedTextField)]


def encrypt_plaintext(model, field) -> int:
    """Encrypt the values of ``field`` that are still plaintext (a schema step);
    return how many. Values that already decrypt are left alone, so it can run twice."""
    pk, count = model._meta.primary_key, 0
    for row_id, value in model.select(pk, field).where(field.is_null(False)).tuples():
        try:
            decrypt(value)
        except InvalidToken:
            model.update({field: str(value)}).where(pk == row_id).execute()
            count += 1
    return count


def rotate(models: Iterable) -> tuple:
    """Re-encrypt every stored secret of ``models`` with the first key, in one
    transaction; return ``(re-encrypted, already current)``. Running it again
    changes nothing.

    Raises:
      SecretUnreadable: a value no key opens, naming its row; nothing is changed.
    """
    keyring, first = _keyring(), _fernets[0]
    changed = current = 0
    with write_transaction():
        for model in models:
            pk = model._meta.primary_key
            name = model._meta.fields.get("name")
            for field in encrypted_fields(model):
                columns = [pk, field] + ([name] if name else [])
                for row in model.select(*columns).where(field.is_null(False)).tuples():
                    row_id, value = row[0], row[1]
                    try:
                        first.decrypt(value.encode())
                        current += 1
                        continue
                    except InvalidToken:
                        pass
                    try:
                        rotated = keyring.rotate(value.encode()).decode()
                    except InvalidToken:
                        raise unreadable(describe(model, row_id, row[2] if name else None),
                                         field.name, value) from None
                    model.update({field: Ciphertext(rotated)}).where(pk == row_id).execute()
                    changed += 1
    return changed, current

