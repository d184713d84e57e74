"""Sign-up, verification, log-in/out, password reset and the settings page.

Known and unknown accounts get byte-identical answers (status, body, headers) from sign-up, log-in
and reset; rate limits are checked before any password is hashed; `next=` only ever redirects to
this site.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from paperfeed.accounts import services, throttle
from paperfeed.accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    ResetRequestForm,
    SignupForm,
    split_values,
)
from paperfeed.accounts.models import ApiToken, Follow, User
from paperfeed.accounts.validators import normalise_email, validate_email_characters


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """The `next` parameter when it points at this site (ASVS 5.1.5), else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only paths on this site: nothing a browser could read as another host or scheme.
    if (
        target.startswith("/")
        and not target.startswith("//")
        and not re.search(r"[\\\s]", target)
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return target
    return default


@sensitive_post_parameters("password")
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        ip = throttle.client_ip(request)
        throttle.check("signup:ip", ip)
        throttle.check("signup:ip-hour", ip)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.signup(d["username"], d["email"], d["password"])
            except services.UsernameTaken:
                form.add_error("username", "That username is taken.")
            else:
                return redirect("signup-sent")
    return render(request, "accounts/signup.html", {"form": form, "next": safe_next(request, "")})


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html")


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    user = services.verify_email(token)
    return render(request, "accounts/verified.html", {"verified_user": user}, status=200 if user else 400)


def email_change(request: HttpRequest, token: str) -> HttpResponse:
    user = services.confirm_email_change(token)
    return render(request, "accounts/email_changed.html", {"changed_user": user}, status=200 if user else 400)


@login_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    throttle.check("verify-resend:user", str(request.user.pk))
    assert isinstance(request.user, User)
    if not request.user.email_verified:
        services.send_verification(request.user)
        messages.info(request, f"We sent a new verification link to {request.user.email}.")
    return redirect("settings")


@sensitive_post_parameters("password")
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = form.cleaned_data["username"].strip().lower()
        throttle_password_attempt(request, account)
        user = services_authenticate(request, account, form.cleaned_data["password"])
        if user is not None:
            auth_login(request, user)  # cycles the session key (ASVS 3.2.1)
            return HttpResponseRedirect(safe_next(request))
        form.add_error(None, "Wrong username/email or password.")
    return render(request, "accounts/login.html", {"form": form, "next": safe_next(request, "")})


def throttle_password_attempt(request: HttpRequest, account: str) -> None:
    """The limits on trying a password, checked before any hashing: per account and address, per
    account, per address. Log-in and the password change share them, so a stolen session guessing
    the current password gets no more tries than a stranger at the log-in form."""
    ip = throttle.client_ip(request)
    throttle.check("login:account-ip", f"{account}|{ip}")
    throttle.check("login:account", account)
    throttle.check("login:ip", ip)


def services_authenticate(request: HttpRequest, account: str, password: str) -> User | None:
    from django.contrib.auth import authenticate

    user = authenticate(request, username=account, password=password)
    return user if isinstance(user, User) else None


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)  # flushes the session row: a replayed cookie is dead
    return HttpResponseRedirect(safe_next(request))


def password_reset(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST":
        throttle.check("reset:ip", throttle.client_ip(request))
        if form.is_valid():
            email = form.cleaned_data["email"].strip()
            # Per address whether or not it has an account, so a 429 tells nothing either.
            throttle.check("reset:account", email)
            services.request_password_reset(email)
            return redirect("password-reset-sent")
    return render(request, "accounts/reset.html", {"form": form})


def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/reset_sent.html")


class ResetConfirm(auth_views.PasswordResetConfirmView):
    template_name = "accounts/reset_confirm.html"
    success_url = reverse_lazy("login")

    def render_to_response(self, context, **kwargs):
        if not context.get("validlink"):  # used or expired: a 400, as a dead verification link is
            kwargs["status"] = 400
        return super().render_to_response(context, **kwargs)

    def form_valid(self, form):
        form.user.changed_how = "with a reset link mailed to this address"
        response = super().form_valid(form)  # saves the new password; the model sends the notice
        messages.success(
            self.request,
            "Your password was changed: log in with the new one." + after_password_change(form.user),
        )
        return response


def after_password_change(user: User) -> str:
    """What else a password change did, said where it is confirmed as the notice mail says it
    (services.AfterPasswordChange): which private feeds got new addresses (a reader subscribed to an
    old one gets 404 now) and where each new one is, and the API tokens it left working, which the
    owner revokes themselves if one may be known. Empty when there were none of either."""
    said = services.after_password_change(user, user.feeds_replaced).paragraph()
    return f" {said}" if said else ""


# The secret of a token just made, kept in the session for the one page that shows it: the creating
# POST redirects (POST/redirect/GET), so reloading that page cannot make a second token.
SHOW_ONCE_KEY = "accounts:new-api-token"


@never_cache  # the page may show a token's secret
@sensitive_post_parameters(
    "old_password", "new_password1", "new_password2", "delete_password", "email_password"
)
@login_required
def settings_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    action = request.POST.get("action", "profile") if request.method == "POST" else ""
    follows = Follow.objects.of(user)
    initial = {
        "bio": user.bio,
        "categories": " ".join(follows.categories()),
        "authors": "\n".join(services.author_lines(follows.authors())),
        "keywords": "\n".join(follows.keywords()),
    }
    # Each form is bound only to its own POST: the others on the page keep showing what is stored.
    form = ProfileForm(request.POST if action == "profile" else None, initial=initial)
    password_form = PasswordChangeForm(user, request.POST if action == "password" else None)
    new_token = None
    if action == "profile" and form.is_valid():
        d = form.cleaned_data
        user.bio = d["bio"]
        user.save(update_fields=["bio"])
        services.set_follows(user, Follow.Kind.CATEGORY, d["categories"])
        services.set_follows(user, Follow.Kind.AUTHOR, d["authors"])
        services.set_follows(user, Follow.Kind.KEYWORD, split_values(d["keywords"]))
        messages.success(request, "Profile saved.")
        return redirect("settings")
    if action == "password":
        throttle_password_attempt(request, user.get_username().lower())
        if password_form.is_valid():
            user.changed_how = "on the settings page"
            password_form.save()  # the model sends the "password changed" notice
            update_session_auth_hash(request, user)  # this session stays logged in; the others end
            messages.success(request, "Your password was changed." + after_password_change(user))
            return redirect("settings")
    if action == "new-token":
        made = services.create_api_token(user, request.POST.get("name", ""))
        request.session[SHOW_ONCE_KEY] = made.secret
        return redirect("settings")
    if action == "revoke-token":
        token = request.POST.get("token", "")
        if token.isdigit():  # anything else names no token (and must not reach the database as an id)
            ApiToken.objects.filter(user=user, pk=int(token)).delete()
        return redirect("settings")
    if action == "email":
        throttle_password_attempt(request, user.get_username().lower())
        new_email = normalise_email(request.POST.get("new_email", ""))[:254]
        try:
            EmailValidator()(new_email)
            validate_email_characters(new_email)
        except ValidationError:
            messages.error(request, "That is not an email address: nothing was sent.")
            return redirect(reverse("settings") + "#email")
        if not user.check_password(request.POST.get("email_password", "")[:4096]):
            messages.error(request, "That is not your password: the address is unchanged.")
            return redirect(reverse("settings") + "#email")
        if new_email.lower() != user.email.lower():
            throttle.check("email-change:user", str(user.pk))
            services.request_email_change(user, new_email)
        messages.info(request, f"We sent a link to {new_email}: your address changes when it is opened.")
        return redirect("settings")
    if action == "delete-account":
        throttle_password_attempt(request, user.get_username().lower())
        if user.check_password(request.POST.get("delete_password", "")[:4096]):
            auth_logout(request)
            services.delete_account(user)
            messages.info(request, "Your account is deleted: your comments stay, signed “[deleted account]”.")
            return redirect("/")
        messages.error(request, "That is not your password: the account is not deleted.")
        return redirect(reverse("settings") + "#delete")
    if request.method != "POST":
        new_token = request.session.pop(SHOW_ONCE_KEY, None)
    return render(
        request,
        "accounts/settings.html",
        {
            "form": form,
            "password_form": password_form,
            "tokens": user.api_tokens.order_by("-created_at"),
            "new_token": new_token,
        },
    )


def profile_redirect(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(reverse("user", args=[request.user.get_username()]))
    return redirect("login")
