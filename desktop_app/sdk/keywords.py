"""Dataloop's cloud-only keyword arguments per SDK call: those accepted and dropped, those refused, and why.

Every public SDK method refuses a keyword it does not take with `UnexpectedKeywordError` (a ValidationError and a
TypeError) naming the closest one it does take: ``model.clone(labes=[...])`` -> "Model.clone() got an unexpected
keyword argument 'labes'; did you mean 'labels'?". A keyword dtlpy takes but that has no meaning offline is
listed here: in an ``*_IGNORED`` map when dropping it cannot change a result (a Dataloop script keeps running),
in a ``*_REFUSED`` map when a script relies on it for a result Model Desk does not give (so it must not pass
silently). Each entry says why. The names follow dtlpy 1.126.
"""

from __future__ import annotations

from desktop_app.domain.keywords import (UnexpectedKeywordError, check_keywords, check_public_methods,  # re-exported
                                         checked_keywords, unexpected_keyword)

_ANNOTATION_FILTER = ("annotation subsets are not supported: a model trains and validates on all the ground truth "
                      "of its items; choose the items with train_filter / validation_filter")

# model.clone / dl.models.clone
CLONE_IGNORED = {
    "wait": "a clone is complete when clone() returns (Dataloop clones on its server)",
}
# clone(scope=...): the one scope that means what happens here (a model is seen in its project, by whoever
# opens this catalog); Dataloop's others are refused with this reason.
MODEL_SCOPE = "project"
SCOPE_REFUSED = ("a model is seen by whoever opens this catalog, in its project: there are no private, organisation "
                 "or public scopes (leave scope out, or give scope='project')")
CLONE_REFUSED = {
    "annotations_train_filter": _ANNOTATION_FILTER,
    "annotations_validation_filter": _ANNOTATION_FILTER,
}

# dl.models.create / package.models.create
CREATE_IGNORED = {
    "version": "a model's versions are its clones (model.lineage()); it has no version string",
}
CREATE_REFUSED = {
    "ontology_id": "there are no ontologies; give labels= (or dataset_id=, whose labels are taken)",
    "model_artifacts": "upload the weights after creating it: model.artifacts.upload(path)",
    "app": "there are no apps; give package= (or package_id=, or call package.models.create(...))",
    "dpk_model_name": "there are no apps or DPKs; give package= (or package_id=, or call package.models.create)",
    "annotations_train_filter": _ANNOTATION_FILTER,
    "annotations_validation_filter": _ANNOTATION_FILTER,
}

# dl.packages.push / project.packages.push
# package_type ('ml' only), service_config, version and revision_increment are parameters of push.
PACKAGE_TYPE = "ml"
PUSH_IGNORED = {
    "requirements": "nothing is installed: the entry point is imported when pushed, so a missing package shows then",
    "is_global": "packages are seen by whoever opens this catalog",
    "checkout": "there is no remote package to check out",
    "ignore_sanity_check": "the entry point is always imported and checked",
    "service_update": "services load the package when they start; deploy again to use the new code",
    "slots": "there are no platform UI slots",
}
PUSH_REFUSED = {
    "codebase": "the code is the folder given as src_path (copied into the catalog's store)",
    "modules": "a package here is one model adapter, not a list of modules: give entry_point= (the file) and "
               "class_name= (the dl.BaseModelAdapter subclass)",
    "metadata": "give default_configuration=, output_type=, input_type= and hyperparameters= instead",
    "project": "give project_id= (or call project.packages.push(...))",
}

__all__ = [
    "UnexpectedKeywordError", "check_keywords", "check_public_methods", "checked_keywords", "unexpected_keyword",
    "CLONE_IGNORED", "CLONE_REFUSED", "CREATE_IGNORED", "CREATE_REFUSED", "PUSH_IGNORED", "PUSH_REFUSED",
    "MODEL_SCOPE", "SCOPE_REFUSED", "PACKAGE_TYPE",
]
