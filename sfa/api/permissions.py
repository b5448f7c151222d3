"""DRF permission class that asks the model's policy (sfa.permissions); the default for every API view."""

from rest_framework.permissions import BasePermission

from sfa.permissions import can, policy_for

ACTION_BY_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class PolicyPermission(BasePermission):
    """Authenticated users only; then the policy of the view's model decides, per action and per row.

    Views without a queryset (auth, health, schema) must set their own ``permission_classes``.
    """

    def _model(self, view):
        queryset = getattr(view, "queryset", None)
        if queryset is None and hasattr(view, "get_queryset"):
            queryset = view.get_queryset()
        return queryset.model

    def action_name(self, request, view) -> str:
        return getattr(view, "policy_action", None) or ACTION_BY_METHOD.get(request.method, "change")

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        model = self._model(view)
        policy_for(model)  # a view over a model with no policy is a bug: fail loudly
        return can(request.user, self.action_name(request, view), model)

    def has_object_permission(self, request, view, obj) -> bool:
        return can(request.user, self.action_name(request, view), obj)
