/// Test support shared by the test targets and `octoprov sandbox`: loopback sshd "VMs" and fixtures.
public enum TestSupport {}
