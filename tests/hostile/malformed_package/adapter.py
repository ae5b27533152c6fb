"""A classifier for the hostile-input tests: it answers each item's ground-truth class (it reads the item, not
pixels) with a confidence, and with configuration {'malformed': kind} breaks the answer for the item named in
configuration 'victim' (an item id) in one way."""

import desktop_app.sdk as dl


class MalformedAdapter(dl.BaseModelAdapter):
    def load(self, local_path, **kwargs):
        self.loaded = True

    def save(self, local_path, **kwargs):
        pass

    def prepare_item_func(self, item):
        return item

    def predict(self, batch, **kwargs):
        kind = self.configuration.get("malformed")
        victim = self.configuration.get("victim")
        out = []
        for item in batch:
            truth = [a.label for a in item.annotations.list(ground_truth=True) if a.type == "class"]
            label = truth[0] if truth else self.model_entity.labels[0]
            info = {"name": self.model_entity.name, "confidence": 0.8}
            meta = None
            bad = kind if item.id == victim else None
            if bad == "wrong type":
                out.append({"label": label, "confidence": 0.8})
                continue
            if bad == "list of dicts":
                out.append([{"label": label}])
                continue
            if bad == "unknown label":
                label = "hexagon"
            elif bad == "nan confidence":
                info["confidence"] = float("nan")
            elif bad == "text confidence":
                info["confidence"] = "very sure"
            elif bad == "confidence above 1":
                info["confidence"] = 3.5
            elif bad == "nan score vector":
                meta = {"scores": [float("nan")] * len(self.model_entity.labels)}
            out.append(dl.AnnotationCollection().add(annotation_definition=dl.Classification(label=label),
                                                     model_info=info, metadata=meta))
        return out
