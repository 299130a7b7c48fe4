"""The demo's phone call scene: the storage team's policy phones its on-call two minutes after the
Slack DM; the call reads the alert, and pressing 1 acknowledges it in Slack like the button."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.demo.payloads import AM_TOKEN, am_alert, am_payload, demo_team

if TYPE_CHECKING:
    from bot.demo import Stage

STORAGE = demo_team("storage", """
    {after: 0m, notify: [slack:primary]}
    {after: 2m, notify: [call:primary]}
    {after: 7m, notify: [call:backup, slack:backup]}
""")
STORAGE_ROUTE = "  - {match: {service: storage}, team: storage}\n"


async def scene_phone_call(st: Stage) -> None:
    st.transcript.note("A storage volume goes read-only; the storage team's policy phones its on-call after 2 minutes")
    now = st.clock.now()
    volume = am_alert("VolumeReadOnly", "fp-volume", service="storage", instance="nas-1",
                      summary="volume /srv/data remounted read-only", starts=now)
    await st.webhook("/alerts/alertmanager", am_payload("VolumeReadOnly", [volume]), AM_TOKEN)
    st.later(minutes=2)
    await st.settle()
    call = st.twilio.voice.calls[-1]
    who = next((p.name for p in st.bot.services.config.people if p.phone == call.to), "someone")
    st.transcript.write(f"\n● Phone call to {who} (Twilio {call.status})")
    st.transcript.note(f"{who} picks up")
    turn = await st.twilio.answer(call)
    for line in turn.said[:2]:  # the alert, then the menu (Twilio repeats both once if no key comes)
        st.transcript.write(f"    🔊 {line}")
    st.transcript.note(f"{who} presses 1")
    pressed = await st.twilio.press(call, "1")
    st.transcript.write(f"    🔊 {pressed.speech}")
    await st.twilio.outcome(call, "completed")
    await st.settle()
    st.later(minutes=6)
    await st.settle()  # acknowledged: the 7-minute step does not call the backup
