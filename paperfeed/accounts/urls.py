from django.urls import path

from paperfeed.accounts import views

urlpatterns = [
    path("signup", views.signup, name="signup"),
    path("signup/sent", views.signup_sent, name="signup-sent"),
    path("verify/<str:token>", views.verify_email, name="verify-email"),
    path("verify-resend", views.resend_verification, name="verify-resend"),
    path("email-change/<str:token>", views.email_change, name="email-change"),
    path("login", views.login, name="login"),
    path("logout", views.logout, name="logout"),
    path("password-reset", views.password_reset, name="password-reset"),
    path("password-reset/sent", views.password_reset_sent, name="password-reset-sent"),
    path("password-reset/<uidb64>/<token>", views.ResetConfirm.as_view(), name="password-reset-confirm"),
    path("settings", views.settings_page, name="settings"),
    path("me", views.profile_redirect, name="me"),
]
