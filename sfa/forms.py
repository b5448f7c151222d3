"""HTML input cleaning for the core pages; the rules themselves live in sfa.services."""

from django import forms

from sfa.models import Department, Role, Team, User


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    department = forms.ModelChoiceField(queryset=Department.objects.all())
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 10 characters, not a common password.")


class UserSelfForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)


class UserAdminForm(UserSelfForm):
    role = forms.ChoiceField(choices=Role.choices)
    department = forms.ModelChoiceField(queryset=Department.objects.all())
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False)
    is_active = forms.BooleanField(required=False, label="Active")

    @staticmethod
    def initial_for(user: User) -> dict:
        return {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": user.role,
            "department": user.department_id,
            "team": user.team_id,
            "is_active": user.is_active,
        }


class DepartmentForm(forms.Form):
    name = forms.CharField(max_length=80)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=80)
    department = forms.ModelChoiceField(queryset=Department.objects.all())
    manager = forms.ModelChoiceField(
        queryset=User.objects.filter(role__in=[Role.MANAGER, Role.ADMIN], is_active=True), required=False
    )
    parent = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, label="Parent team")
