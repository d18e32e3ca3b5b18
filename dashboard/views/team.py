from django.http import Http404


def team_dashboard(request, slug):
    raise Http404("team pages are being built")  # replaced by the team dashboard (issue 4)
