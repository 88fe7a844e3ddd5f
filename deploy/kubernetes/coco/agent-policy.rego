# Triad worker agent policy, version 1: the kata-agent policy (Rego) that an init-data document
# carries into a Confidential Containers pod that runs a Triad worker. The TEE reports the digest of
# that init-data (SNP HOST_DATA, TDX MRCONFIGID), so this text and the `triad_worker` object that
# follows it are what the contract pins. `triad measure coco` recognises a policy only when it is
# this text, byte for byte, followed by one line `triad_worker := {…}`; it then knows exactly which
# image, command and environment the pod may run. See docs/deploy.md.
package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

# Requests that cannot change what runs in the pod or read its memory: allowed.
default AddARPNeighborsRequest := true
default AddSwapRequest := false
default CloseStdinRequest := true
default CreateSandboxRequest := true
default DestroySandboxRequest := true
default GetMetricsRequest := true
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default ListInterfacesRequest := true
default ListRoutesRequest := true
default MemHotplugByProbeRequest := false
default OnlineCPUMemRequest := true
default PauseContainerRequest := false
default PullImageRequest := true
default ReadStreamRequest := true
default RemoveContainerRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default ReseedRandomDevRequest := false
default ResumeContainerRequest := false
default SetGuestDateTimeRequest := false
default SignalProcessRequest := true
default StartContainerRequest := true
default StartTracingRequest := false
default StatsContainerRequest := true
default StopTracingRequest := false
default TtyWinResizeRequest := true
default UpdateContainerRequest := false
default UpdateEphemeralMountsRequest := false
default UpdateInterfaceRequest := true
default UpdateRoutesRequest := true
default WaitProcessRequest := true
default WriteStreamRequest := false

# Requests that could run other code in the guest, read its memory or replace this policy: refused.
default ExecProcessRequest := false
default SetPolicyRequest := false

# Files the runtime copies into the guest (hostname, hosts, resolv.conf) go only under kata's own
# shared directory.
default CopyFileRequest := false
CopyFileRequest if {
	startswith(input.path, "/run/kata-containers/shared/containers/")
	not contains(input.path, "..")
}

# Containers: the pause container of the sandbox, and the worker exactly as pinned below.
default CreateContainerRequest := false
CreateContainerRequest if {
	input.OCI.Annotations["io.kubernetes.cri.container-type"] == "sandbox"
	input.OCI.Process.Args == ["/pause"]
	pinned_mounts
}
CreateContainerRequest if {
	input.OCI.Annotations["io.kubernetes.cri.container-type"] == "container"
	input.OCI.Annotations["io.kubernetes.cri.image-name"] == triad_worker.image
	every s in input.storages {
		image_storage_ok(s)
	}
	input.OCI.Process.Args == triad_worker.args
	every e in input.OCI.Process.Env {
		env_allowed(e)
	}
	input.OCI.Process.Terminal == false
	pinned_mounts
}

# Images pulled in the guest (guest pull) are the pinned one.
image_storage_ok(s) if s.driver != "image_guest_pull"
image_storage_ok(s) if s.source == triad_worker.image

env_allowed(e) if {
	some name in triad_worker.env_names
	startswith(e, concat("", [name, "="]))
}

# No mount over the image's files: only the runtime's usual mounts and the worker's configuration.
pinned_mounts if {
	every m in input.OCI.Mounts {
		m.destination in triad_worker.mount_destinations
	}
}

