################################################################################
# GuardDuty: threat detection, with EKS audit-log, runtime (EKS add-on managed) and RDS
# login protection. A region has one detector per account: when one exists already (an
# organization's delegated admin enables it), kyeol passes create_guardduty_detector = false
# and reports it; its features are then the owner's to set.
################################################################################

locals {
  guardduty_features = {
    EKS_AUDIT_LOGS     = []
    RUNTIME_MONITORING = ["EKS_ADDON_MANAGEMENT"]
    RDS_LOGIN_EVENTS   = []
    S3_DATA_EVENTS     = []
  }
}

resource "aws_guardduty_detector" "this" {
  #checkov:skip=CKV2_AWS_3:This account is not an organization's GuardDuty administrator: the detector covers this account and region; an organization-wide detector, when one exists, is detected and reported instead.
  count = var.create_guardduty_detector ? 1 : 0

  enable                       = true
  finding_publishing_frequency = "FIFTEEN_MINUTES"

  tags = { Name = "${var.name_prefix}kyeol" }
}

resource "aws_guardduty_detector_feature" "this" {
  for_each = var.create_guardduty_detector ? local.guardduty_features : {}

  detector_id = aws_guardduty_detector.this[0].id
  name        = each.key
  status      = "ENABLED"

  dynamic "additional_configuration" {
    for_each = each.value

    content {
      name   = additional_configuration.value
      status = "ENABLED"
    }
  }
}
