import type { ProximaClient } from '../sdk/proxima-client.ts';
import { PeerAudio } from '../sdk/peer-audio.ts';

/**
 * The device picker: camera, microphone and (where the browser can route audio, HTMLMediaElement.setSinkId)
 * speaker. A choice is applied at once: cameras and microphones through RTCRtpSender.replaceTrack, so the
 * people who receive you keep the same track; the speaker for every voice you hear.
 */
export class DevicesPanel {
  readonly el: HTMLElement;
  private readonly camera: HTMLSelectElement;
  private readonly mic: HTMLSelectElement;
  private readonly speaker: HTMLSelectElement;
  private readonly speakerRow: HTMLElement;

  constructor(
    private readonly client: ProximaClient,
    private readonly onError: (message: string) => void,
  ) {
    this.el = document.createElement('div');
    this.el.className = 'devices';
    this.el.id = 'devices';
    this.el.hidden = true;
    const row = (label: string, select: HTMLSelectElement) => {
      const l = document.createElement('label');
      l.append(Object.assign(document.createElement('span'), { textContent: label }), select);
      return l;
    };
    this.camera = this.select('camera');
    this.mic = this.select('microphone');
    this.speaker = this.select('speaker');
    this.speakerRow = row('Speaker', this.speaker);
    this.el.append(row('Camera', this.camera), row('Microphone', this.mic), this.speakerRow);
    this.camera.onchange = () => void this.switch('camera', this.camera.value);
    this.mic.onchange = () => void this.switch('microphone', this.mic.value);
    this.speaker.onchange = () => void client.setAudioOutput(this.speaker.value).catch((e: Error) => onError(e.message));
  }

  toggle(): void {
    this.el.hidden = !this.el.hidden;
    if (!this.el.hidden) void this.fill();
  }

  /** The device lists, with what is in use selected. */
  async fill(): Promise<void> {
    const d = await this.client.listDevices();
    const inUse = (kind: 'camera' | 'microphone') => this.client.localTrack(kind)?.getSettings().deviceId ?? '';
    this.options(this.camera, d.cameras, inUse('camera'), 'No camera');
    this.options(this.mic, d.microphones, inUse('microphone'), 'No microphone');
    this.options(this.speaker, d.speakers, this.client.audio?.sinkId || 'default', 'No speaker');
    this.speakerRow.hidden = !PeerAudio.canChooseOutput();
    this.camera.disabled = d.cameras.length === 0 || !this.client.localTrack('camera');
    this.mic.disabled = d.microphones.length === 0 || !this.client.localTrack('microphone');
  }

  private async switch(kind: 'camera' | 'microphone', deviceId: string): Promise<void> {
    try {
      await this.client.switchDevice(kind, deviceId);
    } catch (e) {
      this.onError((e as Error).message);
    }
    void this.fill();
  }

  private select(name: string): HTMLSelectElement {
    const s = document.createElement('select');
    s.name = name;
    return s;
  }

  private options(sel: HTMLSelectElement, devices: MediaDeviceInfo[], current: string, none: string): void {
    sel.replaceChildren(
      ...(devices.length === 0
        ? [Object.assign(document.createElement('option'), { textContent: none, value: '' })]
        : devices.map((d, i) => Object.assign(document.createElement('option'), { value: d.deviceId, textContent: d.label || `${d.kind} ${i + 1}`, selected: d.deviceId === current }))),
    );
  }
}
