from django.http import Http404


def endpoint_detail(request, pk):
    raise Http404("endpoint pages are being built")  # replaced by the endpoint detail (issue 4)
