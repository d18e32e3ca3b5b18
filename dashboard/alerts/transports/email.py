"""Email through Django's mail framework (the SMTP server of settings.EMAIL_*), HTML with a text part."""

from __future__ import annotations

import smtplib
import ssl

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from dashboard.alerts.transports.base import DeliveryResult, Transport, TransportError


class EmailTransport(Transport):
    def notify(self, message) -> DeliveryResult:
        recipients = list(self.channel.email_to)
        if not recipients:
            raise TransportError(f"{self.channel.name}: the channel has no recipients", permanent=True)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients,
            # RFC 3834: out-of-office replies should not answer an automatic message.
            headers={"Auto-Submitted": "auto-generated"},
            connection=get_connection(fail_silently=False),  # timeout: settings.EMAIL_TIMEOUT
        )
        email.attach_alternative(message.html, "text/html")
        # Alerts carry none; the weekly review (dashboard/reports/delivery.py) attaches its export.
        for name, content, mimetype in getattr(message, "attachments", ()):
            email.attach(name, content, mimetype)
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused(exc.recipients) from None
        except smtplib.SMTPResponseException as exc:
            raise _reply_error(exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPServerDisconnected:
            raise TransportError("SMTP server closed the connection") from None
        except smtplib.SMTPException as exc:
            # SMTPNotSupportedError and friends: the server lacks what the settings ask for (STARTTLS,
            # AUTH); an operator must change one side, which a retry within the hour may well see.
            raise TransportError(f"SMTP error: {type(exc).__name__}: {exc}") from None
        except ssl.SSLError as exc:
            raise TransportError(f"SMTP TLS error: {exc.reason or type(exc).__name__}") from None
        except OSError as exc:  # refused, unreachable, timed out
            reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else type(exc).__name__)
            host = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
            raise TransportError(f"SMTP server {host} unreachable: {reason}") from None
        return DeliveryResult(detail=f"accepted for {len(recipients)} recipient(s)")


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)).strip()


def _reply_error(code: int, reply: bytes | str) -> TransportError:
    # 4xx: try again later (greylisting, a full queue); 5xx: the server will keep refusing.
    return TransportError(f"SMTP {code} {_text(reply)}", permanent=code >= 500, status_code=code)


def _refused(recipients: dict) -> TransportError:
    codes = [code for code, _ in recipients.values()]
    said = "; ".join(f"{addr}: {code} {_text(reply)}" for addr, (code, reply) in recipients.items())
    permanent = all(code >= 500 for code in codes)
    return TransportError(
        f"SMTP refused every recipient ({said})", permanent=permanent, status_code=max(codes)
    )
