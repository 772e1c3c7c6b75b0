"""StatefulSet controller: pure identity/revision/reconciler, glue in controller.

volumeClaimTemplates are accepted and otherwise ignored: each pod gets the volume upstream
gives it (a `persistentVolumeClaim` named `CLAIM-SET-ORDINAL`), but no PersistentVolumeClaim
is created, since kubesvc serves no storage API and its node agent mounts nothing.
"""
